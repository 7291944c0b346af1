// Applies the remembered (or the system's) colour theme before the app loads, so nothing flashes.
;(function () {
  try {
    var stored = localStorage.getItem('theme')
    var dark =
      stored === 'dark' ||
      ((stored === null || stored === 'system') &&
        window.matchMedia('(prefers-color-scheme: dark)').matches)
    document.documentElement.classList.toggle('dark', dark)
    document.documentElement.style.colorScheme = dark ? 'dark' : 'light'
  } catch (e) {
    /* storage unavailable: keep the light default */
  }
})()
