import { useEffect, useState } from 'preact/hooks';

/** The current hash route split into path segments: "#/users/42" -> ["users", "42"]. */
export function parseHash(hash: string): string[] {
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  return path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => decodeURIComponent(s));
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(...segments: string[]): string {
  return '#/' + segments.map((s) => encodeURIComponent(s)).join('/');
}

export function navigate(...segments: string[]): void {
  window.location.hash = href(...segments).slice(1);
}
