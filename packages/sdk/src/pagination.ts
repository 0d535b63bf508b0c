import { SipsimError } from './errors.js';
import type { Pagination } from './types.js';

/**
 * One page of a list, and the way to the next ones: `for await` over a page
 * gives its items and those of every page after it.
 */
export class Page<T> implements AsyncIterable<T> {
  constructor(
    readonly data: T[],
    readonly pagination: Pagination,
    readonly request_id: string | undefined,
    private readonly fetchPage: (token: string) => Promise<Page<T>>,
  ) {}

  hasNextPage(): boolean {
    return this.pagination.has_more && typeof this.pagination.page === 'string' && this.pagination.page !== '';
  }

  /** The next page, with the same filters; throws when there is none (see hasNextPage). */
  getNextPage(): Promise<Page<T>> {
    if (!this.hasNextPage()) return Promise.reject(new SipsimError('No next page: this is the last one'));
    return this.fetchPage(this.pagination.page!);
  }

  /** This page, then each next one until the last. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/**
 * What a list method returns: awaited, the first page; iterated with
 * `for await`, every item of every page. The first request is sent when the
 * result is first awaited or iterated, so that a list never fails unobserved.
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private first: Promise<Page<T>> | null = null;

  constructor(private readonly load: () => Promise<Page<T>>) {}

  private start(): Promise<Page<T>> {
    return (this.first ??= this.load());
  }

  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.start().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.start().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<Page<T>> {
    return this.start().finally(onFinally);
  }

  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    yield* (await this.start()).iterPages();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.start();
  }
}
