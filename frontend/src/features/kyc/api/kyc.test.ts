import { describe, expect, it } from 'vitest'
import { checkFile, MAX_BYTES } from '@/features/kyc/api/kyc'

const file = (size: number, type: string) => {
  const f = new File(['x'], 'doc', { type })
  Object.defineProperty(f, 'size', { value: size })
  return f
}

describe('KYC file check', () => {
  it('accepts PDF, JPEG and PNG up to 10 MB', () => {
    expect(checkFile(file(1000, 'application/pdf'))).toBeNull()
    expect(checkFile(file(MAX_BYTES, 'image/png'))).toBeNull()
    expect(checkFile(file(5, 'image/jpeg'))).toBeNull()
  })
  it('refuses other types, empty and oversized files before uploading', () => {
    expect(checkFile(file(10, 'image/svg+xml'))).toBe('kyc.errors.type')
    expect(checkFile(file(0, 'application/pdf'))).toBe('kyc.errors.empty')
    expect(checkFile(file(MAX_BYTES + 1, 'application/pdf'))).toBe('kyc.errors.tooLarge')
  })
})
