/** A call of the dashboard's API as its page makes it, for the dashboard suites. */
export interface DashAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  type: string;
}

/** The headers the page sends with every call (the API refuses calls without the marker). */
export const DASHBOARD_ACTION = { 'x-dashboard-request': '1', 'content-type': 'application/json' };

export async function callDashboard(
  origin: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = DASHBOARD_ACTION,
): Promise<DashAnswer> {
  const response = await fetch(`${origin}/_dashboard/api${route}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    type: response.headers.get('content-type') ?? '',
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
