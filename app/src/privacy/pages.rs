//! The area's pages and components.

use super::*;
use crate::components::{outcome, DataTable, Field, PageHeader, ALERT, BUTTON, BUTTON_DANGER, BUTTON_SECONDARY, CARD, LINK};
use leptos_meta::Title;

/// `/users/deletion-requests`: requests to delete accounts, and how long
/// deleted people keep their name and email.
#[component]
pub fn DeletionRequestsPage() -> impl IntoView {
    let resolve = ServerAction::<ResolveDeletionRequest>::new();
    let retention = ServerAction::<crate::settings::SetRetention>::new();
    let (a, b) = (crate::components::successes(resolve), crate::components::successes(retention));
    let data = Resource::new(move || (a.get(), b.get()), |_| list_deletion_requests());
    view! {
        <crate::pages::ViewGate view=crate::authz::View::Users>
            <Title text="Deletion requests" />
            <PageHeader title="Deletion requests" purpose="People who asked for their account to be deleted. Completing a request anonymises them." />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(d) => view! {
                            <crate::settings::pages::RetentionCard days=d.anonymise_after_days action=retention />
                            {outcome(resolve, "Done.")}
                            <DataTable testid="deletion-requests" columns=&["Person", "Asked", "Reason", "Status", ""]>
                                    {d.requests.into_iter().map(|r| {
                                        let pending = r.status == "pending";
                                        view! {
                                            <tr data-testid="deletion-request">
                                                <td><a class=LINK href=format!("/users/{}", r.user_id)>{r.user}</a></td>
                                                <td>{r.requested_at}</td>
                                                <td>{r.reason}</td>
                                                <td>{r.status} " " {r.note}</td>
                                                <td>
                                                    {pending.then(|| view! {
                                                        <ActionForm action=resolve attr:class="flex flex-wrap gap-2">
                                                            <input type="hidden" name="request_id" value=r.id.to_string() />
                                                            <input type="text" name="note" placeholder="Note (needed to reject)" class=crate::components::INPUT />
                                                            <button type="submit" name="decision" value="complete" class=BUTTON_DANGER>"Anonymise"</button>
                                                            <button type="submit" name="decision" value="reject" class=BUTTON_SECONDARY>"Reject"</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                            </DataTable>
                        }.into_any(),
                    }
                })}
            </Transition>
        </crate::pages::ViewGate>
    }
}

/// On the account pages: one's own data, and asking to be deleted.
#[component]
pub fn PrivacyPage() -> impl IntoView {
    let request = ServerAction::<RequestDeletion>::new();
    view! {
        <Title text="Your data" />
        <PageHeader title="Your data" purpose="What Steward holds about you, and asking for your account to be deleted." />
        <crate::account::pages::AccountTabs current="/account/privacy" />
        <div class=format!("{CARD} max-w-2xl space-y-4")>
            <p class="text-sm">"Download everything Steward holds about you as one JSON file: profile, roles, teams, sessions, keys and your activity."</p>
            <a href="/account/export.json" class=BUTTON_SECONDARY data-testid="export-own-data">"Download my data"</a>
            <hr class="border-slate-200 dark:border-slate-800" />
            {outcome(request, "Your request was sent to your administrators.")}
            <ActionForm action=request attr:class="space-y-3">
                <Field name="reason" label="Ask to delete my account" optional=true hint="Your administrators anonymise your account, or tell you why not." error=crate::components::field_error(request, "reason") />
                <button type="submit" class=BUTTON data-testid="request-deletion">"Send the request"</button>
            </ActionForm>
        </div>
    }
}
