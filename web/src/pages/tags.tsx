import { useEffect, useState } from 'preact/hooks';
import { del, get, patch, post } from '../api';
import { Empty, Failure, Loading } from '../components/states';
import { refreshDirectory, useDirectory } from '../directory';
import { useSession } from '../session';
import type { Call, Tag } from '../types';

const EVER = '1970-01-01T00:00:00Z';
/** Counting stops here and shows "10,000+", so that a large history costs at most ten pages per tag. */
const COUNT_CAP = 10_000;

/** How many calls carry the tag, counted through the calls list itself (keyset pages of 1000). */
async function countCalls(tagId: number, signal: AbortSignal): Promise<{ count: number; more: boolean }> {
  let count = 0;
  let page: string | undefined;
  do {
    const answer = await get<Call[]>('/api/v2/calls', { start_time: EVER, tags: tagId, limit: 1000, page }, signal);
    count += answer.data.length;
    page = answer.pagination?.has_more ? answer.pagination.page : undefined;
  } while (page && !signal.aborted && count < COUNT_CAP);
  return { count, more: Boolean(page) };
}

export function TagsPage() {
  const session = useSession();
  const canWrite = session.scopes.includes('tags.write');
  const { directory, error } = useDirectory();
  const [counts, setCounts] = useState<Record<number, { count: number; more: boolean }>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const tags = directory?.tags;

  useEffect(() => {
    if (!tags) return;
    const controller = new AbortController();
    (async () => {
      for (const tag of tags) {
        if (controller.signal.aborted) return;
        try {
          const count = await countCalls(tag.id, controller.signal);
          setCounts((c) => ({ ...c, [tag.id]: count }));
        } catch {
          // The count stays "…"; the list itself is what matters.
        }
      }
    })();
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
              <TagRow key={tag.id} tag={tag} count={counts[tag.id]} canWrite={canWrite} act={act} />
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}

function TagRow({ tag, count, canWrite, act }: { tag: Tag; count?: { count: number; more: boolean }; canWrite: boolean; act(action: () => Promise<unknown>): Promise<void> }) {
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
          <a href={`/calls?when=custom&from=1970-01-01&tags=${tag.id}`} aria-label={`${count.count}${count.more ? ' or more' : ''} calls tagged ${tag.name}`}>
            {count.count.toLocaleString('en')}
            {count.more ? '+' : ''}
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
