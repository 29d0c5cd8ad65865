//! The access log's screen (`/access-log`): every request the servers
//! answered, newest first, for platform administrators — by status class
//! or code, route, tenant and slowness, in keyset pages.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// The list's filters, as the page's query string carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessQuery {
    /// `2xx` … `5xx`, or one code such as `404`.
    pub status: String,
    /// A route pattern, as the router names it (`/users/{id}`).
    pub route: String,
    /// A tenant's short name.
    pub tenant: String,
    /// Only requests that took at least this many milliseconds.
    pub slower_than: String,
    pub after: String,
}

impl AccessQuery {
    pub fn filters(&self) -> [(&'static str, &str); 4] {
        [("status", &self.status), ("route", &self.route), ("tenant", &self.tenant), ("slower_than", &self.slower_than)]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessRow {
    pub at: String,
    pub method: String,
    pub route: String,
    pub path: String,
    pub status: i16,
    pub latency_ms: f64,
    pub tenant: String,
    pub user_id: String,
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessList {
    pub rows: Vec<AccessRow>,
    pub next: Option<String>,
}

/// The status filter as a range of codes, or a message for the field.
pub fn status_range(text: &str) -> Result<Option<(i16, i16)>, String> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Ok(None);
    }
    if let Some(class) = t.strip_suffix("xx") {
        return match class.parse::<i16>() {
            Ok(c @ 1..=5) => Ok(Some((c * 100, c * 100 + 99))),
            _ => Err("Give a class such as 4xx, or a code such as 404.".into()),
        };
    }
    match t.parse::<i16>() {
        Ok(code @ 100..=599) => Ok(Some((code, code))),
        _ => Err("Give a class such as 4xx, or a code such as 404.".into()),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::authz::{ssr::require_platform, Perm};
    use chrono::{DateTime, Utc};
    use sqlx::QueryBuilder;

    const PAGE: usize = 50;

    /// One page of the access log. Platform administrators only.
    pub async fn list(q: AccessQuery) -> Result<AccessList, AppError> {
        let mut actor = require_platform(Perm::SystemAdmin).await?;
        let mut b = QueryBuilder::new(
            "SELECT a.at, a.id, a.method, a.route, a.path, a.status, a.latency_us, t.slug, a.user_id, a.request_id
               FROM access_log a LEFT JOIN steward_tenant_slugs() t ON t.id = a.tenant_id WHERE true",
        );
        if let Some((low, high)) = status_range(&q.status).map_err(|m| AppError::invalid("status", &m))? {
            b.push(" AND a.status BETWEEN ").push_bind(low).push(" AND ").push_bind(high);
        }
        if !q.route.trim().is_empty() {
            b.push(" AND a.route = ").push_bind(q.route.trim().to_string());
        }
        if !q.tenant.trim().is_empty() {
            b.push(" AND a.tenant_id = (SELECT id FROM steward_tenant_slugs() WHERE slug = ")
                .push_bind(q.tenant.trim().to_lowercase())
                .push(")");
        }
        if !q.slower_than.trim().is_empty() {
            let ms: u32 = q
                .slower_than
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("slower_than", "Give a whole number of milliseconds, such as 100."))?;
            b.push(" AND a.latency_us >= ").push_bind(i64::from(ms) * 1000);
        }
        if !q.after.is_empty() {
            let broken = || AppError::invalid("after", "That page link is broken: start from the first page.");
            let (micros, id) = q.after.split_once('|').ok_or_else(broken)?;
            let at = micros.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_micros).ok_or_else(broken)?;
            let id: i64 = id.parse().map_err(|_| broken())?;
            b.push(" AND (a.at, a.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        b.push(format!(" ORDER BY a.at DESC, a.id DESC LIMIT {}", PAGE + 1));
        type Raw = (DateTime<Utc>, i64, String, String, String, i16, i32, Option<String>, Option<uuid::Uuid>, Option<String>);
        let mut raw: Vec<Raw> = b.build_query_as().fetch_all(actor.conn()).await?;
        let next = (raw.len() > PAGE).then(|| {
            raw.truncate(PAGE);
            raw.last().map(|r| format!("{}|{}", r.0.timestamp_micros(), r.1)).unwrap_or_default()
        });
        let rows = raw
            .into_iter()
            .map(|(at, _, method, route, path, status, latency, tenant, user, request)| AccessRow {
                at: at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                method,
                route,
                path,
                status,
                latency_ms: f64::from(latency) / 1000.0,
                tenant: tenant.unwrap_or_default(),
                user_id: user.map(|u| u.to_string()).unwrap_or_default(),
                request_id: request.unwrap_or_default(),
            })
            .collect();
        Ok(AccessList { rows, next })
    }
}

pub mod server {
    use super::*;
    use leptos::prelude::*;

    /// One page of the access log. Needs `system:admin` in the platform tenant.
    #[server(endpoint = "list_access_log")]
    pub async fn list_access_log(query: AccessQuery) -> Result<AccessList, AppError> {
        crate::ssr::respond(super::ssr::list(query).await)
    }
}

pub mod pages {
    use super::server::list_access_log;
    use super::*;
    use crate::components::*;
    use crate::nav::MeResource;
    use crate::pages::ViewGate;
    use leptos::prelude::*;
    use leptos_meta::Title;
    use leptos_router::components::Form;
    use leptos_router::hooks::use_query_map;

    #[component]
    pub fn AccessLogPage() -> impl IntoView {
        let query = use_query_map();
        let me = expect_context::<MeResource>();
        let params = move || {
            let q = query.read();
            let get = |k: &str| q.get(k).unwrap_or_default();
            AccessQuery {
                status: get("status"),
                route: get("route"),
                tenant: get("tenant"),
                slower_than: get("slower_than"),
                after: get("after"),
            }
        };
        let list = Resource::new(params, move |p| crate::pages::gated(me, "access_log", list_access_log(p)));
        view! {
            <ViewGate view="access_log">
                <Title text="Access log" />
                <PageHeader title="Access log" purpose="Every request the servers answered: route, status, time taken, and who asked. Kept for the days set with --access-log-days." />
                <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let p = params();
                        let result = list.await;
                        let status_error = result.as_ref().err().and_then(|e| e.field("status"));
                        let slow_error = result.as_ref().err().and_then(|e| e.field("slower_than"));
                        let (status, route, tenant, slower) = (p.status.clone(), p.route.clone(), p.tenant.clone(), p.slower_than.clone());
                        let filters = view! {
                            <Form method="GET" action="/access-log" attr:class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-4 dark:border-slate-800 dark:bg-slate-900" attr:role="search" attr:data-testid="access-filters">
                                <Field name="status" label="Status" value=status optional=true hint="2xx … 5xx, or a code" error=status_error />
                                <Field name="route" label="Route" value=route optional=true hint="e.g. /users/{id}" />
                                <Field name="tenant" label="Organisation" value=tenant optional=true hint="short name" />
                                <Field name="slower_than" label="Slower than (ms)" value=slower optional=true error=slow_error />
                                <div class="flex items-end gap-2 lg:col-span-4">
                                    <button type="submit" class=BUTTON>"Apply"</button>
                                    <a href="/access-log" class=BUTTON_SECONDARY>"Clear"</a>
                                </div>
                            </Form>
                        };
                        let body = match result {
                            Ok(list) => {
                                let first = (!p.after.is_empty()).then(|| format!("/access-log{}", query_string(&p.filters())));
                                let next = list.next.clone().map(|after| {
                                    let mut pairs: Vec<(&str, &str)> = p.filters().to_vec();
                                    pairs.push(("after", &after));
                                    format!("/access-log{}", query_string(&pairs))
                                });
                                let empty = list.rows.is_empty();
                                view! {
                                    <AccessRows rows=list.rows />
                                    {empty.then(|| view! { <p class="p-6 text-center text-sm text-slate-500" data-testid="no-requests">"No requests match."</p> })}
                                    <Pager first next first_label="← Newest" next_label="Older requests →" />
                                }
                                .into_any()
                            }
                            Err(e) if e.field("status").is_some() || e.field("slower_than").is_some() => ().into_any(),
                            Err(e) => view! { <p role="alert" class=ALERT data-testid="form-error">{e.field("after").unwrap_or_else(|| e.to_string())}</p> }.into_any(),
                        };
                        view! { {filters} {body} }
                    })}
                </Transition>
            </ViewGate>
        }
    }

    #[component]
    fn AccessRows(rows: Vec<AccessRow>) -> impl IntoView {
        view! {
            <DataTable testid="access-table" columns=&["When (UTC)", "Request", "Status", "Time", "Organisation", "User", "Request id"] right=&["Time"]>
                        {rows.into_iter().map(|r| {
                            let tone = match r.status {
                                500.. => "text-red-700 dark:text-red-400 font-semibold",
                                400..=499 => "text-amber-700 dark:text-amber-400",
                                _ => "text-slate-700 dark:text-slate-300",
                            };
                            let audit = (!r.request_id.is_empty()).then(|| format!("/audit{}", query_string(&[("request_id", &r.request_id)])));
                            view! {
                                <tr data-testid="access-row">
                                    <td class=format!("{TD} whitespace-nowrap font-mono text-xs")>{r.at}</td>
                                    <td class=format!("{TD} text-xs")>
                                        <code class="font-mono">{r.method}" "{r.path}</code>
                                        <div class="text-slate-500">{r.route}</div>
                                    </td>
                                    <td class=format!("{TD} font-mono text-xs {tone}")>{r.status}</td>
                                    <td class=format!("{TD} text-right font-mono text-xs")>{format!("{:.1} ms", r.latency_ms)}</td>
                                    <td class=format!("{TD} text-xs")>{r.tenant}</td>
                                    <td class=format!("{TD} font-mono text-xs text-slate-500")>{r.user_id.chars().take(8).collect::<String>()}</td>
                                    <td class=format!("{TD} font-mono text-xs")>
                                        {match audit {
                                            Some(href) => view! { <a href=href class=LINK title="This request's audit events (in your organisation)">{r.request_id.chars().take(13).collect::<String>()}</a> }.into_any(),
                                            None => view! { <span></span> }.into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_classes_or_codes() {
        assert_eq!(status_range(""), Ok(None));
        assert_eq!(status_range("4xx"), Ok(Some((400, 499))));
        assert_eq!(status_range(" 5XX "), Ok(Some((500, 599))));
        assert_eq!(status_range("404"), Ok(Some((404, 404))));
        assert!(status_range("9xx").is_err());
        assert!(status_range("42").is_err());
        assert!(status_range("abc").is_err());
    }
}
