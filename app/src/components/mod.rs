//! Small building blocks shared by every page.

pub mod common;
pub mod flash;

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
pub use common::*;
pub use flash::{kept, FlashResource};

/// Classes shared by form controls, so every form looks and behaves alike.
pub const INPUT: &str = "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-900 dark:placeholder:text-slate-500";
pub const LABEL: &str = "block text-sm font-medium text-slate-700 dark:text-slate-300";
pub const BUTTON_PRIMARY: &str = "inline-flex w-full items-center justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60";
pub const BUTTON_QUIET: &str = "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white";
pub const CARD: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900";
pub const BUTTON: &str = "inline-flex items-center justify-center rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60";
pub const BUTTON_SECONDARY: &str = "inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-600 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-200 dark:hover:bg-slate-800";
pub const BUTTON_DANGER: &str = "inline-flex items-center justify-center rounded-md bg-red-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-red-600";
pub const LINK: &str = "font-medium text-indigo-600 hover:text-indigo-500 hover:underline dark:text-indigo-400";
/// A table's cells are styled from the table (`[&_td]:…`, once a page)
/// rather than by a class on each cell: 28 bytes a cell, 5.6 KB of a
/// users page of 50 rows (docs/BENCHMARKS.md, issue 16's sixth part).
pub const TABLE: &str = "min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800 [&_td]:px-3 [&_td]:py-2 [&_td]:align-top";
pub const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400";
pub const SELECT: &str = "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-900";
pub const NOTICE: &str = "rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:border-emerald-900 dark:bg-emerald-950/50 dark:text-emerald-300";
pub const ALERT: &str = "rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700 dark:border-red-900 dark:bg-red-950/50 dark:text-red-300";
pub const HEADING: &str = "text-base font-semibold";

/// A list as a table in its bordered frame: one header cell per column (an
/// empty name is an actions column, named for screen readers only; those in
/// `right` are aligned right), the rows given as children.
#[component]
pub fn DataTable(
    testid: &'static str,
    columns: &'static [&'static str],
    /// Columns aligned right (numbers, times).
    #[prop(optional)]
    right: &'static [&'static str],
    /// More classes for the frame (a margin, say).
    #[prop(optional)]
    class: &'static str,
    /// Said under the header when there are no rows (None: there are some).
    #[prop(default = None)]
    empty: Option<&'static str>,
    /// The data-testid of that sentence.
    #[prop(optional)]
    empty_testid: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class=format!("overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900 {class}")>
            <table class=TABLE data-testid=testid>
                <thead class="bg-slate-50 dark:bg-slate-800/50">
                    <tr>
                        {columns.iter().map(|name| {
                            let class = if right.contains(name) { format!("{TH} text-right") } else { TH.to_string() };
                            match *name {
                                "" => view! { <th scope="col" class=class><span class="sr-only">"Actions"</span></th> }.into_any(),
                                name => view! { <th scope="col" class=class>{name}</th> }.into_any(),
                            }
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">{children()}</tbody>
            </table>
            {empty.map(|message| view! {
                <p class="p-6 text-center text-sm text-slate-500 dark:text-slate-400" data-testid=(!empty_testid.is_empty()).then_some(empty_testid)>{message}</p>
            })}
        </div>
    }
}

/// A labelled input with its error message underneath.
#[component]
pub fn Field(
    /// The form field name (also the element id).
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] autofocus: bool,
    /// The field may be left empty.
    #[prop(optional)] optional: bool,
    #[prop(optional)] hint: &'static str,
    /// The browser's own length check (the server checks it too).
    #[prop(optional, into)] minlength: Option<u32>,
    #[prop(optional, into)] maxlength: Option<u32>,
) -> impl IntoView {
    // After a failed post without JavaScript, show what was typed (never a password).
    let value = if kind == "password" { value } else { kept(name, value) };
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described = if hint.is_empty() { error_id.clone() } else { format!("{error_id} {hint_id}") };
    view! {
        <div class="space-y-1">
            <label for=name class=LABEL>{label}</label>
            <input
                id=name
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                required=!optional
                minlength=minlength
                maxlength=maxlength
                autofocus=autofocus
                class=INPUT
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described
            />
            {(!hint.is_empty()).then(|| view! { <p id=hint_id class="text-xs text-slate-500 dark:text-slate-400">{hint}</p> })}
            <p id=error_id class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid=format!("{name}-error")>
                {move || error.get()}
            </p>
        </div>
    }
}

/// The title of a page, what it is for, and its main actions on the right.
#[component]
pub fn PageHeader(#[prop(into)] title: String, #[prop(into, optional)] purpose: String, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
                {(!purpose.is_empty()).then(|| view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{purpose}</p> })}
            </div>
            <div class="flex flex-wrap items-center gap-2">{children.map(|c| c())}</div>
        </div>
    }
}

/// The message of a field from an action's last error.
pub fn field_error<S>(action: ServerAction<S>, name: &'static str) -> Signal<Option<String>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field(name))))
}

/// The outcome of an action: `ok` after success, the error otherwise
/// (a validation error points at the fields).
pub fn outcome<S>(action: ServerAction<S>, ok: &'static str) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action.value().with(|v| match v {
            Some(Ok(_)) if !ok.is_empty() => Some(view! { <p role="status" data-testid="notice" class=NOTICE>{ok}</p> }.into_any()),
            Some(Err(AppError::Validation(_))) => Some(view! { <p role="alert" data-testid="form-error" class=ALERT>"Please correct the highlighted fields."</p> }.into_any()),
            Some(Err(e)) => Some(view! { <p role="alert" data-testid="form-error" class=ALERT>{e.to_string()}</p> }.into_any()),
            _ => None,
        })
    }
}

/// Counts an action's successes: resources keyed on it refetch after a
/// change, and not after a refusal (which would reset what was typed).
pub fn successes<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Memo::new(move |previous: Option<&usize>| {
        let version = action.version().get();
        let ok = action.value().with(|v| matches!(v, Some(Ok(_))));
        if ok { version } else { previous.copied().unwrap_or(0) }
    })
}

/// A destructive action behind a second, explicit click: the summary opens
/// the confirmation, which holds the form. Works without JavaScript.
#[component]
pub fn Confirm(#[prop(into)] label: String, #[prop(into)] question: String, children: Children) -> impl IntoView {
    view! {
        <details class="group relative inline-block">
            <summary class=format!("{BUTTON_SECONDARY} cursor-pointer list-none")>{label}</summary>
            <div class="absolute right-0 z-20 mt-2 w-72 rounded-md border border-slate-200 bg-white p-3 text-sm shadow-lg dark:border-slate-700 dark:bg-slate-900">
                <p class="mb-3">{question}</p>
                {children()}
            </div>
        </details>
    }
}

/// A status as a coloured badge.
#[component]
pub fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    // Whole class strings made at compile time, not one built per badge:
    // a list of 50 rows renders 50 of them.
    macro_rules! badge {
        ($colour:literal) => {
            concat!("inline-flex rounded-full px-2 py-0.5 text-xs font-medium ", $colour)
        };
    }
    let class = match status.as_str() {
        "active" | "done" | "sent" | "ok" => badge!("bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300"),
        "suspended" | "running" | "queued" => badge!("bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300"),
        "deleted" | "failed" | "interrupted" | "alarm" => badge!("bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300"),
        _ => badge!("bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300"),
    };
    view! { <span class=class>{status}</span> }
}

/// The notice a form post without JavaScript left for this page.
#[component]
pub fn FlashNotice() -> impl IntoView {
    let flash = use_context::<FlashResource>();
    move || {
        flash
            .and_then(|f| f.0.get())
            .and_then(|r| r.ok())
            .and_then(|f| f.notice)
            .map(|n| view! { <p role="status" data-testid="notice" class=format!("{NOTICE} mb-4")>{n}</p> })
    }
}

/// After a save over a newer version (409), the way to the latest one.
pub fn reload_on_conflict<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action.value().with(|v| matches!(v, Some(Err(AppError::Conflict(_))))).then(|| view! {
            <a href="" class=LINK data-testid="reload">"Reload to see the latest version"</a>
        })
    }
}

/// A labelled select with its error message underneath.
#[component]
pub fn SelectField(
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    #[prop(optional, into)] selected: String,
    #[prop(optional)] empty: Option<&'static str>,
    #[prop(optional, into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let selected = kept(name, selected);
    view! {
        <div class="space-y-1">
            <label for=name class=LABEL>{label}</label>
            <select id=name name=name class=SELECT aria-invalid=move || error.get().is_some().to_string()>
                {empty.map(|e| view! { <option value="">{e}</option> })}
                {options.into_iter().map(|(value, text)| {
                    let is = value == selected;
                    view! { <option value=value selected=is>{text}</option> }
                }).collect_view()}
            </select>
            <p class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid=format!("{name}-error")>{move || error.get()}</p>
        </div>
    }
}

/// The links between the pages of a keyset list: back to the first page,
/// and on to the next one.
#[component]
pub fn Pager(
    first: Option<String>,
    next: Option<String>,
    #[prop(default = "← First page")] first_label: &'static str,
    #[prop(default = "Next page →")] next_label: &'static str,
) -> impl IntoView {
    view! {
        <nav class="mt-4 flex justify-between text-sm" aria-label="Pages">
            <span>{first.map(|href| view! { <a href=href class=LINK>{first_label}</a> })}</span>
            <span>{next.map(|href| view! { <a href=href class=LINK data-testid="next-page">{next_label}</a> })}</span>
        </nav>
    }
}
