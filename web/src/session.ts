import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Component, Level, Me } from './types';

export interface Session {
  me: Me;
  refresh: () => Promise<void>;
  logout: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside of a session');
  return s;
}

const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 };

export function levelOf(me: Me, c: Component): Level {
  const l = me.permissions?.[c];
  return l === 'read' || l === 'write' ? l : 'none';
}

export function can(me: Me, c: Component, need: Level): boolean {
  return RANK[levelOf(me, c)] >= RANK[need];
}

/** True when the signed-in user may change things in the component. */
export function useCan(c: Component, need: Level = 'write'): boolean {
  return can(useSession().me, c, need);
}
