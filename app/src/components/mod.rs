//! Small building blocks shared by every page.

use leptos::prelude::*;

/// Classes shared by form controls, so every form looks and behaves alike.
pub const INPUT: &str = "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-900 dark:placeholder:text-slate-500";
pub const LABEL: &str = "block text-sm font-medium text-slate-700 dark:text-slate-300";
pub const BUTTON_PRIMARY: &str = "inline-flex w-full items-center justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60";
pub const BUTTON_QUIET: &str = "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white";
pub const CARD: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900";

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
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let described = error_id.clone();
    view! {
        <div class="space-y-1">
            <label for=name class=LABEL>{label}</label>
            <input
                id=name
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                required=true
                autofocus=autofocus
                class=INPUT
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described
            />
            <p id=error_id class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid=format!("{name}-error")>
                {move || error.get()}
            </p>
        </div>
    }
}
