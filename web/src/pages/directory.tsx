import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { patch } from '../api';
import { Empty, Failure, Loading } from '../components/states';
import { refreshDirectory, useDirectory, type Directory } from '../directory';
import { useSession } from '../session';
import type { Phone } from '../types';

export function DirectoryPage() {
  const { directory, error } = useDirectory();
  const canWrite = useSession().scopes.includes('phones.write');
  const [editing, setEditing] = useState<number | null>(null);
  if (error !== undefined) return <Failure error={error} retry={refreshDirectory} />;
  if (!directory) return <Loading />;
  // One dense table: each employee's phones under them, then phones nobody has, then people without a phone.
  const rows: Array<{ key: string; employee: string; email: string | null; phone: Phone | null }> = [];
  for (const employee of directory.employees) {
    const phones = directory.phones.filter((p) => p.employee_id === employee.id);
    if (phones.length === 0) rows.push({ key: `e${employee.id}`, employee: employee.name, email: employee.email, phone: null });
    phones.forEach((phone, n) => rows.push({ key: `p${phone.id}`, employee: n === 0 ? employee.name : '', email: n === 0 ? employee.email : null, phone }));
  }
  for (const phone of directory.phones.filter((p) => p.employee_id === null || !directory.employees.some((e) => e.id === p.employee_id))) {
    rows.push({ key: `p${phone.id}`, employee: '—', email: null, phone });
  }
  const columns = canWrite ? 8 : 7;
  return (
    <section class="directory-page">
      <div class="page-head">
        <h1>Directory</h1>
        <span class="muted">
          {directory.employees.length} employees, {directory.phones.length} phones
        </span>
      </div>
      {rows.length === 0 ? (
        <Empty>No employees or phones yet.</Empty>
      ) : (
        <div class="panel">
          <table class="compact directory">
            <thead>
              <tr>
                <th scope="col">Employee</th>
                <th scope="col">Phone</th>
                <th scope="col">Extension</th>
                <th scope="col">Number</th>
                <th scope="col">Status</th>
                <th scope="col">Recording</th>
                <th scope="col">Forwarding</th>
                {canWrite && <th scope="col">Edit</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map(({ key, employee, email, phone }) => (
                <Fragment key={key}>
                  <tr data-phone-id={phone?.id} class={employee ? 'first' : ''}>
                    <td>
                      {employee}
                      {email && <div class="muted small">{email}</div>}
                    </td>
                    {phone ? (
                      <>
                        <td>{phone.name}</td>
                        <td>{phone.internal_number ?? '—'}</td>
                        <td>{phone.number}</td>
                        <td>
                          <span class={`status-pill ${phone.status}`}>{phone.status.replace('_', ' ')}</span>
                        </td>
                        <td>
                          {[phone.record_setting.record_inbound_call && 'in', phone.record_setting.record_outbound_call && 'out'].filter(Boolean).join(' + ') || 'off'}
                        </td>
                        <td>
                          {phone.forwarding_setting.forced.enabled
                            ? `always to ${phone.forwarding_setting.forced.forward_number}`
                            : phone.forwarding_setting.conditional.enabled
                              ? `after ${phone.forwarding_setting.conditional.timeout_seconds} s to ${phone.forwarding_setting.conditional.forward_number}`
                              : 'off'}
                        </td>
                        {canWrite && (
                          <td>
                            <button type="button" aria-expanded={editing === phone.id} onClick={() => setEditing(editing === phone.id ? null : phone.id)}>
                              {editing === phone.id ? 'Close' : 'Edit'}
                              <span class="sr-only"> {phone.name}</span>
                            </button>
                          </td>
                        )}
                      </>
                    ) : (
                      <td colSpan={columns - 1} class="muted">
                        No phone.
                      </td>
                    )}
                  </tr>
                  {phone && editing === phone.id && (
                    <tr>
                      <td colSpan={columns}>
                        <PhoneForm phone={phone} directory={directory} onDone={() => setEditing(null)} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function PhoneForm({ phone, directory, onDone }: { phone: Phone; directory: Directory; onDone(): void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(f.get(name) ?? '').trim();
    const orNull = (name: string) => text(name) || null;
    const body = {
      name: text('name'),
      status: text('status'),
      employee_id: text('employee_id') ? Number(text('employee_id')) : null,
      record_setting: { record_inbound_call: f.has('record_in'), record_outbound_call: f.has('record_out') },
      voicemail_setting: { allow_voicemail: f.has('voicemail') },
      outbound_setting: { outbound_number: orNull('outbound_number') },
      forwarding_setting: {
        forced: { enabled: f.has('forced'), forward_number: orNull('forced_number') },
        conditional: { enabled: f.has('conditional'), timeout_seconds: Number(text('timeout') || 0), forward_number: orNull('conditional_number') },
      },
    };
    setBusy(true);
    setError(null);
    try {
      await patch<Phone>(`/api/v2/phones/${phone.id}`, body);
      refreshDirectory();
      onDone();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="phone-form" onSubmit={submit} aria-label={`Edit ${phone.name}`}>
      <label>
        Name <input name="name" defaultValue={phone.name} required />
      </label>
      <label>
        Status{' '}
        <select name="status" defaultValue={phone.status}>
          <option value="active">active</option>
          <option value="inactive">inactive</option>
          <option value="not_activated">not activated</option>
        </select>
      </label>
      <label>
        Employee{' '}
        <select name="employee_id" defaultValue={phone.employee_id === null ? '' : String(phone.employee_id)}>
          <option value="">none</option>
          {directory.employees.map((e) => (
            <option value={e.id}>{e.name}</option>
          ))}
        </select>
      </label>
      <label>
        Outbound number <input name="outbound_number" defaultValue={phone.outbound_setting.outbound_number ?? ''} />
      </label>
      <fieldset>
        <legend>Recording and voicemail</legend>
        <label>
          <input type="checkbox" name="record_in" defaultChecked={phone.record_setting.record_inbound_call} /> Record inbound
        </label>
        <label>
          <input type="checkbox" name="record_out" defaultChecked={phone.record_setting.record_outbound_call} /> Record outbound
        </label>
        <label>
          <input type="checkbox" name="voicemail" defaultChecked={phone.voicemail_setting.allow_voicemail} /> Voicemail
        </label>
      </fieldset>
      <fieldset>
        <legend>Forwarding</legend>
        <label>
          <input type="checkbox" name="forced" defaultChecked={phone.forwarding_setting.forced.enabled} /> Always, to
        </label>{' '}
        <input name="forced_number" aria-label="Always forward to" defaultValue={phone.forwarding_setting.forced.forward_number ?? ''} />
        <br />
        <label>
          <input type="checkbox" name="conditional" defaultChecked={phone.forwarding_setting.conditional.enabled} /> When unanswered after
        </label>{' '}
        <input name="timeout" type="number" min={0} max={300} aria-label="Seconds before forwarding" defaultValue={String(phone.forwarding_setting.conditional.timeout_seconds)} /> s, to{' '}
        <input name="conditional_number" aria-label="Forward when unanswered to" defaultValue={phone.forwarding_setting.conditional.forward_number ?? ''} />
      </fieldset>
      {error !== null && <Failure error={error} />}
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
