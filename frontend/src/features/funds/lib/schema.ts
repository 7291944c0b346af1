import { z } from 'zod'
import { toBig } from '@/lib/decimal'

export const METHODS = ['bank_transfer', 'card', 'crypto'] as const

/** Amount: positive, at most 2 decimals, and (withdrawals) not beyond the chosen account's free margin. */
export function makeFundsSchema(maxAmount: (accountId: string) => string | null | undefined) {
  return z
    .object({
      account_id: z.string().min(1, 'validation.required'),
      amount: z.string(),
      method: z.enum(METHODS),
    })
    .superRefine((v, ctx) => {
      const amount = toBig(v.amount)
      if (!v.amount.trim()) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'funds.errors.amountRequired' })
      else if (!amount || amount.lte(0)) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'funds.errors.amountPositive' })
      else if (!amount.round(2).eq(amount)) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'funds.errors.amountDecimals' })
      else {
        const max = toBig(maxAmount(v.account_id))
        if (max && amount.gt(max)) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'funds.errors.beyondFreeMargin' })
      }
    })
}

export type FundsFormValues = z.infer<ReturnType<typeof makeFundsSchema>>
