import { Virtualizer, elementScroll, observeElementOffset, observeElementRect, type VirtualItem } from '@tanstack/virtual-core';
import { useLayoutEffect, useReducer, useState } from 'preact/hooks';

/** @tanstack/virtual-core bound to a Preact component: only the rows in view are rendered. */
export function useVirtual(options: { count: number; scroller: () => HTMLElement | null; rowHeight: number; overscan?: number }): {
  items: VirtualItem[];
  total: number;
} {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const settings = {
    count: options.count,
    getScrollElement: options.scroller,
    estimateSize: () => options.rowHeight,
    overscan: options.overscan ?? 12,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    onChange: () => rerender(0),
  };
  const [virtualizer] = useState(() => new Virtualizer<HTMLElement, Element>(settings));
  virtualizer.setOptions(settings);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());
  useLayoutEffect(() => virtualizer.measure(), [options.rowHeight]);
  return { items: virtualizer.getVirtualItems(), total: virtualizer.getTotalSize() };
}
