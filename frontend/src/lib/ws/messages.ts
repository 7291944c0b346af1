import { z } from 'zod'

// Frames of WS /api/stream, validated once at the boundary. Prices stay decimal strings.
const decimalString = z.union([z.string(), z.number().transform((n) => String(n))])

export const quoteFrame = z.object({
  type: z.literal('quote'),
  symbol: z.string(),
  bid: decimalString,
  ask: decimalString,
  ts: z.coerce.number(),
})

export const statusFrame = z.object({
  type: z.literal('status'),
  feed: z.string(),
})

export const errorFrame = z
  .object({
    type: z.literal('error'),
    code: z.string().optional(),
    message: z.string().optional(),
  })
  .loose()

export const PRIVATE_EVENT_TYPES = ['account', 'order', 'position', 'trade', 'margin_call', 'stop_out', 'balance'] as const
export type PrivateEventType = (typeof PRIVATE_EVENT_TYPES)[number]

export const privateFrame = z
  .object({
    type: z.enum(PRIVATE_EVENT_TYPES),
    account_id: z.coerce.number(),
  })
  .loose()

export type QuoteFrame = z.infer<typeof quoteFrame>
export type StatusFrame = z.infer<typeof statusFrame>
export type ErrorFrame = z.infer<typeof errorFrame>
export type PrivateFrame = z.infer<typeof privateFrame>
export type StreamFrame = QuoteFrame | StatusFrame | ErrorFrame | PrivateFrame

/** Parse one text frame; null when it is not JSON or not a frame we know. */
export function parseFrame(text: string): StreamFrame | null {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return null
  }
  const type = (data as { type?: unknown } | null)?.type
  const schema =
    type === 'quote'
      ? quoteFrame
      : type === 'status'
        ? statusFrame
        : type === 'error'
          ? errorFrame
          : (PRIVATE_EVENT_TYPES as readonly unknown[]).includes(type)
            ? privateFrame
            : null
  if (!schema) return null
  const parsed = schema.safeParse(data)
  return parsed.success ? (parsed.data as StreamFrame) : null
}
