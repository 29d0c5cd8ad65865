use super::server::system_status;
use super::*;
use crate::authz;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;

/// `/system`: the upkeep, the database, the pools and the mail queue, for
/// platform administrators. Read when the page is opened (reload for news).
#[component]
pub fn SystemPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let status = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::System, system_status()));
    view! {
        <ViewGate view=authz::View::System>
            <Title text="System" />
            <PageHeader title="System" purpose="The upkeep Steward runs by itself, the database, this server's connections, and the mail queue." />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! {
                            <div class="space-y-6">
                                <Jobs jobs=s.jobs />
                                <div class="grid gap-6 lg:grid-cols-2">
                                    <Database d=s.database.clone() />
                                    <div class="space-y-6">
                                        <Pools pools=s.server_pools />
                                        <Mail m=s.mail />
                                    </div>
                                </div>
                                <Statements statements=s.database.statements />
                            </div>
                        }
                        .into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn Jobs(jobs: Vec<JobRow>) -> impl IntoView {
    view! {
        <section aria-labelledby="jobs-heading">
            <h2 id="jobs-heading" class=format!("{HEADING} mb-2")>"Scheduled upkeep"</h2>
            <DataTable testid="jobs-table" columns=&["Job", "Every", "Last run (UTC)", "Outcome"]>
                {jobs.into_iter().map(|j| {
                    let last = if j.last_started_at.is_empty() {
                        "not yet".to_string()
                    } else {
                        format!("{} · {} ms", j.last_started_at, j.last_duration_ms.unwrap_or(0))
                    };
                    let running = j.running.map(|(since, on)| view! { <div class="mt-1 text-amber-700 dark:text-amber-300">{format!("running since {since} on {on}")}</div> });
                    let key = j.job.clone();
                    let outcome = if j.outcome.is_empty() { "waiting".to_string() } else { j.outcome.clone() };
                    view! {
                        <tr data-testid="job-row" data-job=key>
                            <td class="text-sm">
                                <div class="font-medium">{j.title}</div>
                                <div class="font-mono text-xs text-slate-500 dark:text-slate-400">{j.job}</div>
                            </td>
                            <td class="whitespace-nowrap text-xs">{j.every}</td>
                            <td class="whitespace-nowrap font-mono text-xs">
                                {last}
                                <div class="text-slate-500 dark:text-slate-400">{format!("{} run(s), {} not ok", j.runs, j.failures)}</div>
                            </td>
                            <td class="text-xs">
                                <span data-testid="job-outcome"><StatusBadge status=outcome /></span>
                                <div class="mt-1 max-w-xl" data-testid="job-message">{j.message}</div>
                                {running}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </DataTable>
        </section>
    }
}

/// A term and its value, in a card's list.
#[component]
fn Fact(term: &'static str, #[prop(into)] value: String) -> impl IntoView {
    view! {
        <div class="flex justify-between gap-4 py-1">
            <dt class="text-slate-500 dark:text-slate-400">{term}</dt>
            <dd class="text-right font-mono text-xs">{value}</dd>
        </div>
    }
}

#[component]
fn Database(d: DatabaseFacts) -> impl IntoView {
    let in_use: i64 = d.connections.iter().map(|(_, n)| n).sum();
    view! {
        <section class=CARD aria-labelledby="database-heading" data-testid="database">
            <h2 id="database-heading" class=HEADING>"Database"</h2>
            <dl class="mt-3 divide-y divide-slate-100 text-sm dark:divide-slate-800">
                <Fact term="PostgreSQL" value=d.version />
                <Fact term="Size" value=d.size />
                <Fact term="Connections" value=format!("{in_use} of {}", d.max_connections) />
                {d.connections.into_iter().map(|(state, n)| view! { <Fact term="" value=format!("{n} {state}") /> }).collect_view()}
                <Fact term="Waiting on a lock" value=d.waiting.to_string() />
                {d.replica_lag.map(|lag| view! { <Fact term="Replica behind by" value=lag /> })}
            </dl>
            <h3 class="mt-4 text-sm font-semibold">"Largest tables"</h3>
            <dl class="mt-1 divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="largest-tables">
                {d.tables.into_iter().map(|(name, size)| view! {
                    <div class="flex justify-between gap-4 py-1">
                        <dt class="font-mono text-xs">{name}</dt>
                        <dd class="font-mono text-xs">{size}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

#[component]
fn Statements(statements: Option<Vec<StatementFacts>>) -> impl IntoView {
    let body = match statements {
        None => view! {
            <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="statements-off">
                "The database server does not load pg_stat_statements. Add it to shared_preload_libraries, restart the server, and run CREATE EXTENSION pg_stat_statements as a superuser (Steward's own cluster does this by itself)."
            </p>
        }
        .into_any(),
        Some(rows) => view! {
            <DataTable testid="statements-table" columns=&["Statement", "Calls", "Mean", "In all", "Rows"]>
                {rows.into_iter().map(|s| view! {
                    <tr data-testid="statement-row">
                        <td class="max-w-2xl break-all font-mono text-xs">{s.query}</td>
                        <td class="text-right font-mono text-xs">{s.calls}</td>
                        <td class="whitespace-nowrap text-right font-mono text-xs">{format!("{:.2} ms", s.mean_ms)}</td>
                        <td class="whitespace-nowrap text-right font-mono text-xs">{format!("{:.1} s", s.total_ms / 1000.0)}</td>
                        <td class="text-right font-mono text-xs">{s.rows}</td>
                    </tr>
                }).collect_view()}
            </DataTable>
        }
        .into_any(),
    };
    view! {
        <section aria-labelledby="statements-heading">
            <h2 id="statements-heading" class=format!("{HEADING} mb-2")>"Slowest statements (most time in all)"</h2>
            {body}
        </section>
    }
}

#[component]
fn Pools(pools: Vec<PoolFacts>) -> impl IntoView {
    view! {
        <section class=CARD aria-labelledby="pools-heading" data-testid="pools">
            <h2 id="pools-heading" class=HEADING>"This server's pools"</h2>
            <dl class="mt-3 divide-y divide-slate-100 text-sm dark:divide-slate-800">
                {pools.into_iter().map(|p| view! {
                    <div class="flex justify-between gap-4 py-1">
                        <dt class="text-slate-500 dark:text-slate-400">{p.name}</dt>
                        <dd class="font-mono text-xs">{format!("{} open, {} idle, at most {}", p.open, p.idle, p.max)}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

#[component]
fn Mail(m: MailFacts) -> impl IntoView {
    let oldest = (!m.oldest_queued.is_empty()).then(|| view! { <Fact term="Oldest waiting since" value=m.oldest_queued.clone() /> });
    view! {
        <section class=CARD aria-labelledby="mail-heading" data-testid="mail-queue">
            <h2 id="mail-heading" class=HEADING>"Mail queue"</h2>
            <dl class="mt-3 divide-y divide-slate-100 text-sm dark:divide-slate-800">
                <Fact term="Waiting to be sent" value=m.queued.to_string() />
                <Fact term="Of which retrying" value=m.retrying.to_string() />
                <Fact term="Given up" value=m.failed.to_string() />
                <Fact term="Sent in the last day" value=m.sent_last_day.to_string() />
                {oldest}
            </dl>
            <a href="/mail" class=format!("{LINK} mt-3 inline-block text-sm")>"Sent mail →"</a>
        </section>
    }
}
