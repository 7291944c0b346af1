import { useQuery, useQueryClient } from '@tanstack/react-query'
import { api, upload } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { KycDocument, Page } from '@/lib/types'

export const DOC_TYPES = ['passport', 'id_card', 'proof_of_address', 'selfie', 'other'] as const
export const MAX_BYTES = 10 * 1024 * 1024
export const ACCEPTED = ['application/pdf', 'image/jpeg', 'image/png']

export function useKycDocuments() {
  return useQuery({
    queryKey: qk.kyc,
    queryFn: async () => {
      const data = await api<KycDocument[] | Page<KycDocument>>('/api/kyc/documents')
      return Array.isArray(data) ? data : data.items
    },
  })
}

export function useKycUpload() {
  const qc = useQueryClient()
  return async (type: string, file: File, onProgress: (f: number) => void, signal?: AbortSignal) => {
    const form = new FormData()
    form.append('type', type)
    form.append('file', file)
    const doc = await upload<KycDocument>('/api/kyc/documents', form, { onProgress, signal })
    await qc.invalidateQueries({ queryKey: qk.kyc })
    return doc
  }
}

/** A client-side check before uploading (the server sniffs the content again). */
export function checkFile(file: File): string | null {
  if (file.size > MAX_BYTES) return 'kyc.errors.tooLarge'
  if (file.size === 0) return 'kyc.errors.empty'
  if (file.type && !ACCEPTED.includes(file.type)) return 'kyc.errors.type'
  return null
}
