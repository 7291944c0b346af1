import i18n from 'i18next'
import { initReactI18next } from 'react-i18next'
import en from '@/locales/en.json'

// Every user-visible string is in src/locales/<lang>.json; another language is another file
// added here (bundled: the app works offline and nothing is fetched at run time).
export const resources = { en: { translation: en } } as const
export const LANGUAGES = [{ code: 'en', label: 'English' }] as const

function initialLanguage(): string {
  try {
    const stored = localStorage.getItem('language')
    if (stored && stored in resources) return stored
  } catch {
    /* no storage */
  }
  return 'en'
}

void i18n.use(initReactI18next).init({
  resources,
  lng: initialLanguage(),
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
})

export function setLanguage(code: string): void {
  try {
    localStorage.setItem('language', code)
  } catch {
    /* no storage */
  }
  void i18n.changeLanguage(code)
  document.documentElement.lang = code
}

export default i18n
