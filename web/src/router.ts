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

type HashQuery = Record<string, string | null | undefined>;

/** The query part of the hash route: "#/customers?list=vip" -> {list: "vip"}. */
export function parseHashQuery(hash: string): Record<string, string> {
  const i = hash.indexOf('?');
  const out: Record<string, string> = {};
  if (i < 0) return out;
  new URLSearchParams(hash.slice(i + 1)).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** "#/customers?list=vip": a route with query parameters (empty values left out). */
export function hrefQuery(segments: string[], query: HashQuery): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  const q = params.toString();
  return href(...segments) + (q ? `?${q}` : '');
}

/** Replaces the query of the current route without a history entry or a hashchange. */
export function replaceHashQuery(query: HashQuery): void {
  const target = hrefQuery(parseHash(window.location.hash), query);
  if (target !== window.location.hash) window.history.replaceState(null, '', target);
}
