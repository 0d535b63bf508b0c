import { useEffect, useRef } from 'preact/hooks';

/** A drop-down list of checkboxes: keyboard-usable (a native <details>), and it closes on Escape or a click outside. */
export function MultiSelect({
  label,
  options,
  selected,
  onChange,
}: {
  label: string;
  options: Array<{ value: string; label: string; color?: string }>;
  selected: string[];
  onChange(values: string[]): void;
}) {
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = (event: Event) => {
      const details = ref.current;
      if (!details?.open) return;
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !details.contains(event.target as Node)) {
        details.open = false;
        if (event instanceof KeyboardEvent) details.querySelector('summary')?.focus();
      }
    };
    document.addEventListener('click', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('click', close);
      document.removeEventListener('keydown', close);
    };
  }, []);
  const names = options.filter((o) => selected.includes(o.value)).map((o) => o.label);
  const toggle = (value: string, on: boolean) => onChange(on ? [...selected, value] : selected.filter((v) => v !== value));
  return (
    <details class="multi" ref={ref}>
      <summary aria-label={`${label}: ${names.length ? names.join(', ') : 'all'}`}>
        {label}
        {names.length ? <span class="badge">{names.length}</span> : <span class="muted"> all</span>}
      </summary>
      <div class="menu" role="group" aria-label={label}>
        {options.length === 0 && <p class="muted">None yet</p>}
        {options.map((option) => (
          <label>
            <input type="checkbox" checked={selected.includes(option.value)} onChange={(e) => toggle(option.value, e.currentTarget.checked)} />
            {option.color && <span class="dot" style={{ background: option.color }} aria-hidden="true" />}
            {option.label}
          </label>
        ))}
        {selected.length > 0 && (
          <button type="button" class="link" onClick={() => onChange([])}>
            Clear
          </button>
        )}
      </div>
    </details>
  );
}
