import { useEffect, useState } from 'preact/hooks';
import { all } from './api';
import type { Employee, Phone, Tag } from './types';

/**
 * The account's employees, phones and tags, which every page names calls by.
 * Fetched once per sign-in and refreshed when a page changes them.
 */
export interface Directory {
  employees: Employee[];
  phones: Phone[];
  tags: Tag[];
  employeeName(id: number | null): string;
  phoneName(id: number | null): string;
}

let cached: Promise<Directory> | null = null;
const listeners = new Set<() => void>();

function load(): Promise<Directory> {
  return Promise.all([all<Employee>('/api/v2/employees'), all<Phone>('/api/v2/phones'), all<Tag>('/api/v2/tags')]).then(
    ([employees, phones, tags]) => {
      const employeeById = new Map(employees.map((e) => [e.id, e]));
      const phoneById = new Map(phones.map((p) => [p.id, p]));
      return {
        employees,
        phones,
        tags,
        employeeName: (id) => (id === null ? '' : (employeeById.get(id)?.name ?? `#${id}`)),
        phoneName: (id) => {
          if (id === null) return '';
          const phone = phoneById.get(id);
          return phone ? (phone.internal_number ? `${phone.name} (${phone.internal_number})` : phone.name) : `#${id}`;
        },
      };
    },
  );
}

export function refreshDirectory(): void {
  cached = null;
  for (const listener of listeners) listener();
}

export function useDirectory(): { directory?: Directory; error?: unknown } {
  const [state, setState] = useState<{ directory?: Directory; error?: unknown }>({});
  const [round, setRound] = useState(0);
  useEffect(() => {
    const listener = () => setRound((r) => r + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  useEffect(() => {
    let live = true;
    if (!cached) cached = load();
    const current = cached;
    current.then(
      (directory) => live && setState({ directory }),
      (error) => {
        if (cached === current) cached = null;
        if (live) setState({ error });
      },
    );
    return () => void (live = false);
  }, [round]);
  return state;
}
