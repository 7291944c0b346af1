import { z } from 'zod'

// Messages are i18n keys (validation.*). The server checks the same rules (and more: common
// passwords), and its codes are shown through errors.*.
export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 128

export const email = z.string().trim().min(1, 'validation.emailRequired').email('validation.emailInvalid')
export const password = z.string().min(PASSWORD_MIN, 'validation.passwordShort').max(PASSWORD_MAX, 'validation.passwordLong')

export const loginSchema = z.object({
  email,
  password: z.string().min(1, 'validation.passwordRequired'),
})

export const registerSchema = z
  .object({
    first_name: z.string().trim().min(1, 'validation.required').max(100, 'validation.tooLong'),
    last_name: z.string().trim().min(1, 'validation.required').max(100, 'validation.tooLong'),
    email,
    country: z
      .string()
      .trim()
      .toUpperCase()
      .refine((v) => v === '' || /^[A-Z]{2}$/.test(v), 'validation.country'),
    phone: z
      .string()
      .trim()
      .refine((v) => v === '' || /^\+?[0-9 ()-]{6,20}$/.test(v), 'validation.phone'),
    password,
    confirm: z.string(),
    accept: z.boolean().refine((v) => v, 'validation.acceptTerms'),
  })
  .refine((v) => v.password === v.confirm, { path: ['confirm'], message: 'validation.passwordsDiffer' })

export const codeSchema = z.object({
  code: z
    .string()
    .trim()
    .regex(/^(\d{6}|[A-Za-z0-9-]{8,20})$/, 'validation.code'),
})

export const forgotSchema = z.object({ email })

export const resetSchema = z
  .object({ password, confirm: z.string() })
  .refine((v) => v.password === v.confirm, { path: ['confirm'], message: 'validation.passwordsDiffer' })

export type LoginValues = z.infer<typeof loginSchema>
export type RegisterValues = z.infer<typeof registerSchema>
export type ResetValues = z.infer<typeof resetSchema>
