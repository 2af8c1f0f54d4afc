// GraphQL over HTTP, and the operations the portal sends.

/** The token was refused: HTTP 401, or UNAUTHENTICATED in the answer. */
export class AuthError extends Error {}

/** Anything else that kept an operation from answering: network, server, unexpected errors. */
export class ApiError extends Error {
  constructor(message, errors = []) {
    super(message);
    this.errors = errors;
  }
}

export async function graphql(token, query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(`network: ${error.message}`);
  }
  if (response.status === 401) throw new AuthError("the token was refused");
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`HTTP ${response.status}`);
  }
  const errors = body.errors || [];
  if (errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) throw new AuthError(errors[0].message);
  if (errors.length || !body.data) throw new ApiError(errors[0]?.message || `HTTP ${response.status}`, errors);
  return body.data;
}

// What a card shows, apart from history and messages (which a live event does not carry).
const CARD = `
  id number title version updatedAt
  client { name email phone locale channels }
  status { key label terminal description }
  nextStatus { key label }
  assignee { name email phone }
  feedback { rating comment at }
`;
// The fields of a history entry, whether read with the request or received live.
const EVENT = "version type at comment actor { role name } to { key label terminal }";
const HISTORY = `history { ${EVENT} request { assignee { name } } }`;
// History labels are those of each event's moment; the workflow's are in today's language.
// Its transitions let the page skip statuses that look the same to the client.
const LABELS = "workflow { statuses { key label } transitions { from { key } to { key } } }";
const NOTIFICATIONS = "notifications { channel state attempts lastError eventVersion }";

export const REQUESTS = `
query PortalRequests($after: String) {
  requests(first: 50, after: $after) {
    edges { node { ${CARD} ${HISTORY} ${LABELS} ${NOTIFICATIONS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const NOTIFICATIONS_OF = `
query PortalNotifications($id: ID!) { request(id: $id) { id ${NOTIFICATIONS} } }`;

export const WATCH = `
subscription PortalWatch($id: ID!, $since: Int) {
  requestUpdated(id: $id, sinceVersion: $since) {
    ${EVENT}
    request { ${CARD} }
  }
}`;

export const LEAVE_FEEDBACK = `
mutation PortalFeedback($input: LeaveFeedbackInput!) {
  leaveFeedback(input: $input) {
    __typename
    ... on LeaveFeedbackSuccess { request { ${CARD} } }
    ... on ValidationError { message fields { field message } }
    ... on Error { message }
  }
}`;

export const UPDATE_PREFERENCES = `
mutation PortalPreferences($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) {
    __typename
    ... on UpdateNotificationPreferencesSuccess {
      client { name email phone locale channels }
      requests { ${CARD} ${HISTORY} ${LABELS} }
    }
    ... on ValidationError { message fields { field message } }
  }
}`;

/** Every request the token can see, newest first, following the pages. */
export async function loadRequests(token) {
  const requests = [];
  let after = null;
  for (let page = 0; page < 20; page += 1) {
    const data = await graphql(token, REQUESTS, { after });
    requests.push(...data.requests.edges.map((edge) => edge.node));
    if (!data.requests.pageInfo.hasNextPage) break;
    after = data.requests.pageInfo.endCursor;
  }
  return requests;
}

export const RENEW_TOKEN = `
mutation PortalRenew { renewAccessToken { clientAccessToken } }`;
