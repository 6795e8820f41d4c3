// Shared helpers of the client hub pages (customers, lists, segments, imports).
import { get } from './api';
import { useLoader } from './hooks';
import type { Customer, DistributionList, Product, Segment } from './types';

/** "Anna Berg", or the company, or "—": how a customer is named in tables. */
export function customerName(c: Pick<Customer, 'first_name' | 'last_name' | 'company_name'>): string {
  const person = [c.first_name, c.last_name].filter(Boolean).join(' ');
  return person || c.company_name || '';
}

/** The server's rule for external ids and keys (lists, segments): 1-128 of letters, digits and . _ : @ -. */
export function keyProblem(key: string): string | null {
  if (key.length === 0 || key.length > 128) return 'must be 1 to 128 characters';
  if (!/^[A-Za-z0-9._:@-]+$/.test(key)) return 'may contain letters, digits and . _ : @ - only';
  return null;
}

export const useLists = () => useLoader(async () => (await get<{ items: DistributionList[] }>('/v1/lists')).items, []);
export const useSegments = () => useLoader(async () => (await get<{ items: Segment[] }>('/v1/segments')).items, []);
export const useProducts = () => useLoader(async () => (await get<{ items: Product[] }>('/v1/products')).items, []);

export const customerPath = (externalId: string, ...rest: string[]) =>
  ['/v1/customers', externalId, ...rest].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');

export const CUSTOMER_STATUSES = ['active', 'inactive', 'erased'];
