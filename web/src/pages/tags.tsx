import { useEffect, useState } from 'preact/hooks';
import { del, get, patch, post } from '../api';
import { Empty, Failure, Loading } from '../components/states';
import { refreshDirectory, useDirectory } from '../directory';
import { useSession } from '../session';
import type { Tag } from '../types';

export function TagsPage() {
  const session = useSession();
  const canWrite = session.scopes.includes('tags.write');
  const { directory, error } = useDirectory();
  const [counts, setCounts] = useState<Map<number, number> | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const tags = directory?.tags;

  // Counted by the server in one query whenever the tags change (a tag deleted takes its calls with it).
  useEffect(() => {
    if (!tags) return;
    const controller = new AbortController();
    get<Array<{ tag_id: number; calls: number }>>('/dashboard/api/tags/counts', undefined, controller.signal).then(
      (answer) => setCounts(new Map(answer.data.map((c) => [c.tag_id, c.calls]))),
      // The counts stay "…"; the list itself is what matters.
      () => undefined,
    );
    return () => controller.abort();
  }, [tags]);

  const act = async (action: () => Promise<unknown>) => {
    setFailure(null);
    try {
      await action();
      refreshDirectory();
    } catch (e) {
      setFailure(e);
    }
  };

  return (
    <section class="tags-page">
      <div class="page-head">
        <h1>Tags</h1>
      </div>
      {canWrite && (
        <form
          class="inline panel"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const data = new FormData(form);
            act(() => post<Tag>('/api/v2/tags', { name: String(data.get('name')).trim(), color: String(data.get('color')).toUpperCase() })).then(() => form.reset());
          }}
        >
          <label>
            New tag <input name="name" required maxLength={100} />
          </label>
          <label>
            Colour <input name="color" type="color" defaultValue="#6b7280" />
          </label>
          <button type="submit" class="primary">
            Create tag
          </button>
        </form>
      )}
      {failure !== null && <Failure error={failure} />}
      {error !== undefined ? (
        <Failure error={error} retry={refreshDirectory} />
      ) : !tags ? (
        <Loading />
      ) : tags.length === 0 ? (
        <Empty>No tags yet. Create one above, or on any call.</Empty>
      ) : (
        <div class="panel">
        <table class="compact tag-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Colour</th>
              <th scope="col" class="num">Calls</th>
              {canWrite && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {tags.map((tag) => (
              <TagRow key={tag.id} tag={tag} count={counts ? (counts.get(tag.id) ?? 0) : undefined} canWrite={canWrite} act={act} />
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}

function TagRow({ tag, count, canWrite, act }: { tag: Tag; count?: number; canWrite: boolean; act(action: () => Promise<unknown>): Promise<void> }) {
  const [name, setName] = useState(tag.name);
  useEffect(() => setName(tag.name), [tag.name]);
  return (
    <tr data-tag-id={tag.id}>
      <td>
        {canWrite ? (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim() && name !== tag.name) act(() => patch(`/api/v2/tags/${tag.id}`, { name: name.trim() }));
            }}
          >
            <input aria-label={`Name of tag ${tag.name}`} value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
            {name !== tag.name && <button type="submit">Rename</button>}
          </form>
        ) : (
          tag.name
        )}
      </td>
      <td>
        {canWrite ? (
          <input
            type="color"
            aria-label={`Colour of tag ${tag.name}`}
            value={tag.color.toLowerCase()}
            onChange={(e) => act(() => patch(`/api/v2/tags/${tag.id}`, { color: e.currentTarget.value.toUpperCase() }))}
          />
        ) : (
          <span class="dot" style={{ background: tag.color }} />
        )}{' '}
        <code>{tag.color}</code>
      </td>
      <td class="num">
        {count === undefined ? (
          <span class="muted">…</span>
        ) : (
          <a href={`/calls?when=custom&from=1970-01-01&tags=${tag.id}`} aria-label={`${count} calls tagged ${tag.name}`}>
            {count.toLocaleString('en')}
          </a>
        )}
      </td>
      {canWrite && (
        <td>
          <button
            type="button"
            class="danger"
            onClick={() => confirm(`Delete the tag "${tag.name}" and take it off every call?`) && act(() => del(`/api/v2/tags/${tag.id}`))}
          >
            Delete
          </button>
        </td>
      )}
    </tr>
  );
}
