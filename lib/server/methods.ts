// 405 for a known path with the wrong method, with the `Allow` header clients expect, instead of a
// 404 that suggests the path does not exist. The methods come from the routes as they are added.
import type { FastifyInstance } from 'fastify';

/** Records every route's methods; call before adding routes. Returns the methods a path allows. */
export function trackRouteMethods(app: FastifyInstance): (url: string) => string[] {
  const byPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = byPath.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m);
    byPath.set(route.url, methods);
  });
  return (url) => [...(byPath.get(url.split('?')[0]) ?? [])].sort();
}
