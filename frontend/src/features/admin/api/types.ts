// Shapes of the admin API's JSON (web/api/admin.py, web/api/admin_webhooks.py). Money is decimal strings.

export interface Paged<T> {
  items: T[]
  total: number
  page: number
  per_page: number
}

export interface AuditRow {
  id: number
  created_at: string
  actor_type: string
  actor_id: string | null
  impersonator_id: string | null
  action: string
  target_type: string | null
  target_id: string | null
  ip: string | null
  user_agent: string | null
  request_id: string | null
  outcome: 'success' | 'failure' | 'denied' | string
  details: Record<string, unknown>
  prev_hash: string
  hash: string
}

export interface ChainState {
  status: 'verified' | 'broken' | string
  checked: number
  broken_at: number | null
  reason: string | null
}

export interface AdminUser {
  id: number
  email: string
  first_name: string
  last_name: string
  country: string | null
  role: 'client' | 'admin' | string
  status: 'active' | 'disabled' | string
  email_verified: boolean
  totp_enabled: boolean
  external_id: string | null
  created_at: string
}

/** The engine's live figures of an account (acct:{id}); empty until it has published them. */
export interface LiveFigures {
  balance?: string
  credit?: string
  equity?: string
  margin?: string
  free_margin?: string
  margin_level?: string
  floating_pl?: string
  ts?: string
  [key: string]: string | undefined
}

export interface AdminAccount {
  id: number
  number: string
  type: 'live' | 'demo' | string
  currency: string
  balance: string | null
  credit: string | null
  held: string | null
  leverage: number
  trading_rights: string
  margin_call_level: string | null
  stop_out_level: string | null
  live: LiveFigures
}

export interface AdminSession {
  id: string
  created_at: string
  last_seen_at: string | null
  ip: string | null
  user_agent: string | null
  impersonator_id: string | null
  active: boolean
  revoked_reason: string | null
}

export interface AdminKycDocument {
  id: number
  type: string
  status: string
  filename: string
  size: number
  created_at: string
  reason: string | null
}

export interface AdminMoneyRequest {
  id: number
  account_id: number
  amount: string | null
  currency: string
  method: string
  status: string
  reason: string | null
  created_at: string
  decided_at: string | null
}

export interface UserDetail {
  user: AdminUser
  accounts: AdminAccount[]
  sessions: AdminSession[]
  kyc_documents: AdminKycDocument[]
  deposits: AdminMoneyRequest[]
  withdrawals: AdminMoneyRequest[]
}

export interface ImpersonationAction {
  id: number
  created_at: string
  action: string
  outcome: string
  target_type: string | null
  target_id: string | null
}

export interface Impersonation {
  session_id: string
  admin_id: string
  user_id: number
  user_email: string
  reason: string | null
  started_at: string
  ended_at: string | null
  expires_at: string
  ip: string | null
  actions: ImpersonationAction[]
}

export interface QuoteAge {
  symbol: string
  bid: string | null
  ask: string | null
  ts: number | null
  age_s: number | null
}

export interface EngineShard {
  shard: number
  stream_length: number
  pending_commands: number | null
  status: Record<string, string>
}

export interface QueueDepth {
  name: string
  queued: number
  started: number
  scheduled: number
  failed: number
}

export interface SystemStatus {
  feed: { status: Record<string, string>; quotes: QuoteAge[] }
  engine: EngineShard[]
  queues: QueueDepth[]
  webhooks: { pending_deliveries: number; undispatched_events: number }
  time: string
}

export interface WebhookEndpoint {
  id: number
  url: string
  description: string
  events: string[] | null
  enabled: boolean
  disabled_reason: string | null
  source: string
  created_at: string
  previous_secret_active_until: string | null
  deliveries: Record<string, number>
}

export interface WebhookEndpointWithSecret extends WebhookEndpoint {
  secret: string
}

export interface WebhookAttempt {
  attempt: number
  status_code: number | null
  duration_ms: number | null
  error: string | null
  response_body: string | null
  created_at: string
}

export interface WebhookDelivery {
  id: number
  endpoint_id: number
  status: 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | string
  attempts: number
  last_status_code: number | null
  last_error: string | null
  next_attempt_at: string | null
  delivered_at: string | null
  created_at: string
  attempt_log?: WebhookAttempt[]
}

export interface WebhookEvent {
  id: number
  msg_id: string
  type: string
  created_at: string
  dispatched_at: string | null
  deliveries: WebhookDelivery[]
}

export interface WebhookEventDetail extends WebhookEvent {
  payload: Record<string, unknown>
}
