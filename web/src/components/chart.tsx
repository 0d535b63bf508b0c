import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface BarSeries {
  label: string;
  color: string;
  values: number[];
}

/**
 * Bars per hour (stacked when there are several series) drawn by uPlot. Stacking is
 * done here: each series is drawn as the running sum up to it, the tallest first,
 * while the legend shows each series' own value.
 */
export function HourBars({ hours, series, label, zone }: { hours: number[]; series: BarSeries[]; label: string; zone: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const sums = series.map((_, i) => hours.map((__, h) => series.slice(0, i + 1).reduce((total, s) => total + (s.values[h] ?? 0), 0)));
    const order = series.map((_, i) => i).reverse();
    const bars = uPlot.paths.bars!({ size: [0.8, 40] });
    const hourFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: hours.length > 25 ? 'short' : undefined, day: hours.length > 25 * 7 ? 'numeric' : undefined, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    const plot = new uPlot(
      {
        width: element.clientWidth || 600,
        height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone),
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ space: 90, values: (_u, splits) => splits.map((s) => hourFormat.format(new Date(s * 1000))) }, { size: 40 }],
        legend: { live: true },
        series: [
          { label: 'Hour', value: (_u, v) => (v === null ? '—' : hourFormat.format(new Date(v * 1000))) },
          ...order.map((i) => ({
            label: series[i]!.label,
            fill: series[i]!.color,
            stroke: series[i]!.color,
            width: 0,
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, _v: number | null, _s: number, index: number | null) => (index === null ? '—' : String(series[i]!.values[index] ?? 0)),
          })),
        ],
      },
      [hours, ...order.map((i) => sums[i]!)],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [hours, series, zone]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}
