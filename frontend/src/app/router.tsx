import { createBrowserRouter, Navigate, type RouteObject } from 'react-router'
import { AppShell } from '@/app/app-shell'
import { AuthLayout } from '@/app/auth-layout'
import { DashboardPage } from '@/app/dashboard-page'
import { RedirectIfAuthed, RequireAdmin, RequireAuth } from '@/app/guards'
import { NotFoundPage } from '@/app/simple-pages'
import { ForgotPasswordPage } from '@/features/auth/components/forgot-password-page'
import { LoginPage } from '@/features/auth/components/login-page'
import { RegisterPage } from '@/features/auth/components/register-page'
import { ResetPasswordPage } from '@/features/auth/components/reset-password-page'
import { VerifyEmailPage } from '@/features/auth/components/verify-email-page'

/** The admin dashboard (children of /admin, behind RequireAdmin); loaded on demand, so clients never download it. */
export const adminRoutes: RouteObject[] = [
  {
    lazy: async () => ({ Component: (await import('@/features/admin/components/admin-layout')).AdminLayout }),
    children: [
      { index: true, element: <Navigate to="audit" replace /> },
      { path: 'audit', lazy: async () => ({ Component: (await import('@/features/admin/components/audit-page')).AuditPage }) },
      { path: 'users', lazy: async () => ({ Component: (await import('@/features/admin/components/users-page')).UsersPage }) },
      {
        path: 'users/:userId',
        lazy: async () => ({ Component: (await import('@/features/admin/components/user-detail-page')).UserDetailPage }),
      },
      { path: 'webhooks', lazy: async () => ({ Component: (await import('@/features/admin/components/webhooks-page')).WebhooksPage }) },
      {
        path: 'impersonations',
        lazy: async () => ({ Component: (await import('@/features/admin/components/impersonations-page')).ImpersonationsPage }),
      },
      { path: 'system', lazy: async () => ({ Component: (await import('@/features/admin/components/system-page')).SystemPage }) },
    ],
  },
]

export const routes: RouteObject[] = [
  {
    element: <AuthLayout />,
    children: [
      {
        element: <RedirectIfAuthed />,
        children: [
          { path: '/login', element: <LoginPage /> },
          { path: '/register', element: <RegisterPage /> },
          { path: '/forgot-password', element: <ForgotPasswordPage /> },
        ],
      },
      // Links from e-mails work whether or not someone is signed in.
      { path: '/verify-email', element: <VerifyEmailPage /> },
      { path: '/reset-password', element: <ResetPasswordPage /> },
    ],
  },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <AppShell />,
        children: [
          { path: '/', element: <DashboardPage /> },
          { path: '/funds', lazy: async () => ({ Component: (await import('@/features/funds/components/funds-page')).FundsPage }) },
          { path: '/kyc', lazy: async () => ({ Component: (await import('@/features/kyc/components/kyc-page')).KycPage }) },
          {
            path: '/settings',
            lazy: async () => ({ Component: (await import('@/features/settings/components/settings-page')).SettingsPage }),
          },
          { path: '/admin', element: <RequireAdmin />, children: adminRoutes },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]

export function createRouter() {
  return createBrowserRouter(routes)
}
