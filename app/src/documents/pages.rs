//! The documents screens: the list (search, filters, keyset pages) with the
//! upload form, and a document's page (versions, downloads, a new version,
//! title, tags and metadata, delete and restore, history).
//!
//! Uploads are plain multipart forms posted to the upload handlers, so they
//! work the same with and without JavaScript; downloads are plain links.

use crate::authz::{self, Perm};
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What a refused upload sent back: (field, message), and the typed values.
fn upload_refusal() -> (Memo<Option<(String, String)>>, impl Fn(&str) -> String + Copy) {
    let query = use_query_map();
    let refusal = Memo::new(move |_| {
        let q = query.read();
        q.get("error").map(|e| (q.get("field").unwrap_or_default(), e))
    });
    let typed = move |k: &str| query.read_untracked().get(k).unwrap_or_default();
    (refusal, typed)
}

fn refusal_for(refusal: Memo<Option<(String, String)>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || refusal.get().and_then(|(f, m)| (f == field).then_some(m)))
}

#[component]
pub fn DocumentsPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        DocQuery { q: get("q"), tag: get("tag"), uploader: get("uploader"), from: get("from"), to: get("to"), deleted: get("deleted"), after: get("after") }
    };
    let list = Resource::new(params, move |p| crate::pages::gated(me, authz::View::Documents, list_documents(p)));
    view! {
        <ViewGate view=authz::View::Documents>
            <Title text="Documents" />
            <PageHeader title="Documents" purpose="Files with immutable versions: every upload is kept, with who sent it and its checksum.">
                <a href=move || if params().deleted == "1" { "/documents" } else { "/documents?deleted=1" } class=BUTTON_SECONDARY>
                    {move || if params().deleted == "1" { "Live documents" } else { "Deleted documents" }}
                </a>
            </PageHeader>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    match list.await {
                        Ok(list) => {
                            let limit = list.max_upload_bytes;
                            view! {
                                <div class="grid gap-6 xl:grid-cols-4">
                                    <div class="xl:col-span-3"><DocTable list p /></div>
                                    {me.may(Perm::DocumentWrite).then(|| view! { <UploadForm limit /> })}
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn UploadForm(limit: u64) -> impl IntoView {
    let (refusal, typed) = upload_refusal();
    view! {
        <section class=format!("{CARD} h-fit") aria-labelledby="upload-heading">
            <h2 id="upload-heading" class=HEADING>"Upload a document"</h2>
            <form method="post" action="/documents/upload" enctype="multipart/form-data" class="mt-3 space-y-2" data-testid="upload-form">
                {move || refusal.get().map(|_| view! { <p role="alert" data-testid="form-error" class=ALERT>"The file was not uploaded."</p> })}
                <FileInput error=refusal_for(refusal, "file") limit />
                <Field name="title" label="Title" value=typed("title") optional=true hint="The file's name when left empty." error=refusal_for(refusal, "title") />
                <Field name="tags" label="Tags" value=typed("tags") optional=true hint="Separated by commas." error=refusal_for(refusal, "tags") />
                <Field name="note" label="Note" value=typed("note") optional=true error=refusal_for(refusal, "note") />
                <button type="submit" class=BUTTON data-testid="upload">"Upload"</button>
            </form>
        </section>
    }
}

#[component]
fn FileInput(error: Signal<Option<String>>, limit: u64) -> impl IntoView {
    view! {
        <div class="space-y-1">
            <label for="file" class=LABEL>"File"</label>
            <input id="file" name="file" type="file" required=true class="block w-full text-sm file:mr-3 file:rounded-md file:border-0 file:bg-indigo-50 file:px-3 file:py-2 file:text-sm file:font-medium file:text-indigo-700 dark:file:bg-indigo-500/10 dark:file:text-indigo-300" aria-invalid=move || error.get().is_some().to_string() aria-describedby="file-error" />
            <p class="text-xs text-slate-500 dark:text-slate-400">{format!("Up to {}.", human_size(limit as i64))}</p>
            <p id="file-error" class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid="file-error">{move || error.get()}</p>
        </div>
    }
}

#[component]
fn DocTable(list: DocList, p: DocQuery) -> impl IntoView {
    let uploader_options: Vec<(String, String)> = list.uploaders.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
    let filters = |after: &str| {
        format!(
            "/documents{}",
            query_string(&[("q", &p.q), ("tag", &p.tag), ("uploader", &p.uploader), ("from", &p.from), ("to", &p.to), ("deleted", &p.deleted), ("after", after)])
        )
    };
    let next = list.next.clone().map(|after| filters(&after));
    let first = (!p.after.is_empty()).then(|| filters(""));
    let count = list.count;
    let empty = list.rows.is_empty();
    view! {
        <Form method="GET" action="/documents" attr:class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-6 dark:border-slate-800 dark:bg-slate-900" attr:role="search" attr:data-testid="document-filters">
            <div class="lg:col-span-2">
                <label for="q" class=LABEL>"Search"</label>
                <input id="q" name="q" type="search" value=p.q.clone() placeholder="Title, metadata or tag…" class=INPUT />
            </div>
            <div>
                <label for="tag" class=LABEL>"Tag"</label>
                <input id="tag" name="tag" type="text" list="known-tags" value=p.tag.clone() class=INPUT />
                <datalist id="known-tags">{list.tags.iter().map(|t| view! { <option value=t.clone()></option> }).collect_view()}</datalist>
            </div>
            <FilterSelect name="uploader" label="Uploaded by" options=uploader_options selected=p.uploader.clone() empty="Anyone" />
            <div>
                <label for="from" class=LABEL>"From"</label>
                <input id="from" name="from" type="date" value=p.from.clone() class=INPUT />
            </div>
            <div>
                <label for="to" class=LABEL>"To"</label>
                <input id="to" name="to" type="date" value=p.to.clone() class=INPUT />
            </div>
            {(p.deleted == "1").then(|| view! { <input type="hidden" name="deleted" value="1" /> })}
            <div class="flex items-end gap-2 lg:col-span-6">
                <button type="submit" class=BUTTON>"Apply"</button>
                <a href=if p.deleted == "1" { "/documents?deleted=1" } else { "/documents" } class=BUTTON_SECONDARY>"Clear"</a>
                <span class="ml-auto text-sm text-slate-600 dark:text-slate-400" data-testid="document-count">{format!("{count} documents")}</span>
            </div>
        </Form>
        <DataTable testid="document-table" columns=&["Title", "Version", "Size", "Tags", "Uploaded by", "Changed"] empty=empty.then_some("No documents match.") empty_testid="no-documents">
                    {list.rows.into_iter().map(|d| view! {
                        <tr data-testid="document-row">
                            <td>
                                <a href=format!("/documents/{}", d.id) class=LINK>{d.title}</a>
                                <div class="text-xs text-slate-500 dark:text-slate-400">{d.file_name} " · " {d.content_type}</div>
                            </td>
                            <td>{format!("v{}", d.current_version)}</td>
                            <td class="whitespace-nowrap">{human_size(d.size_bytes)}</td>
                            <td><Tags tags=d.tags /></td>
                            <td>{d.uploader}</td>
                            <td class="whitespace-nowrap text-slate-500 dark:text-slate-400">{d.updated_at}</td>
                        </tr>
                    }).collect_view()}
                </DataTable>
        <Pager first next />
    }
}

#[component]
fn Tags(tags: Vec<String>) -> impl IntoView {
    view! {
        <span class="flex flex-wrap gap-1">
            {tags.into_iter().map(|t| {
                let href = format!("/documents?tag={}", crate::components::encode(&t));
                view! {
                <a href=href class="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700 hover:bg-indigo-50 dark:bg-slate-800 dark:text-slate-300">{t}</a>
            }}).collect_view()}
        </span>
    }
}

#[component]
pub fn DocumentPage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<uuid::Uuid>().ok());
    let update = ServerAction::<UpdateDocument>::new();
    let delete = ServerAction::<DeleteDocument>::new();
    let restore = ServerAction::<RestoreDocument>::new();
    let c = (successes(update), successes(delete), successes(restore));
    let doc = Resource::new(
        move || (id(), c.0.get() + c.1.get() + c.2.get()),
        move |(id, _)| crate::pages::gated(me, authz::View::Documents, async move {
            match id {
                Some(id) => get_document(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        }),
    );
    view! {
        <ViewGate view=authz::View::Documents>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match doc.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(d) => view! { <DocumentView d update delete restore /> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn DocumentView(
    d: DocDetail,
    update: ServerAction<UpdateDocument>,
    delete: ServerAction<DeleteDocument>,
    restore: ServerAction<RestoreDocument>,
) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let may = move |p: Perm| me.may(p);
    let (refusal, typed) = upload_refusal();
    let id = d.id;
    let deleted = d.deleted;
    // The stored pairs, then three empty rows to add more.
    let mut rows = d.metadata.clone();
    rows.extend((0..3).map(|_| (String::new(), String::new())));
    let editable = may(Perm::DocumentWrite) && !deleted;
    view! {
        <Title text=d.title.clone() />
        <PageHeader title=d.title.clone() purpose=format!("{} · {} · version {} · uploaded by {} on {}", d.file_name, human_size(d.size_bytes), d.current_version, d.uploader, d.created_at)>
            {deleted.then(|| view! { <StatusBadge status="deleted" /> })}
            <a href=format!("/documents/{id}/versions/{}/download", d.current_version) rel="external" download=d.file_name.clone() class=BUTTON data-testid="download-current">"Download"</a>
        </PageHeader>
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <section class=CARD aria-labelledby="versions-heading">
                    <h2 id="versions-heading" class=HEADING>"Versions"</h2>
                    <p class="text-sm text-slate-600 dark:text-slate-400">"Every version is kept as it was uploaded; none can be changed or removed."</p>
                    <div class="mt-3 overflow-x-auto">
                        <table class=TABLE data-testid="versions">
                            <thead>
                                <tr>
                                    <th scope="col" class=TH>"#"</th>
                                    <th scope="col" class=TH>"File"</th>
                                    <th scope="col" class=TH>"SHA-256"</th>
                                    <th scope="col" class=TH>"Uploaded"</th>
                                    <th scope="col" class=TH><span class="sr-only">"Download"</span></th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                {d.versions.iter().cloned().map(|v| view! {
                                    <tr data-testid="version-row">
                                        <td>{v.number}</td>
                                        <td>
                                            <div>{v.file_name.clone()}</div>
                                            <div class="text-xs text-slate-500 dark:text-slate-400">{human_size(v.size_bytes)} " · " {v.content_type}</div>
                                            {(!v.note.is_empty()).then(|| view! { <div class="text-xs italic text-slate-600 dark:text-slate-400">{v.note.clone()}</div> })}
                                        </td>
                                        <td><code class="font-mono text-xs" title=v.sha256.clone() data-testid="sha256">{v.sha256[..12].to_string()} "…"</code></td>
                                        <td class="text-xs text-slate-500 dark:text-slate-400">{v.uploader} <br /> {v.created_at}</td>
                                        <td>
                                            <a href=format!("/documents/{id}/versions/{}/download", v.number) rel="external" download=v.file_name class=LINK data-testid=format!("download-v{}", v.number)>"Download"</a>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(!editable).then(|| view! {
                        {move || refusal.get().map(|(_, message)| view! { <p role="alert" data-testid="form-error" class=format!("{ALERT} mt-3")>"The new version was not uploaded: " {message}</p> })}
                    })}
                    {editable.then(|| view! {
                        <form method="post" action=format!("/documents/{id}/versions") enctype="multipart/form-data" class="mt-4 grid gap-3 border-t border-slate-100 pt-4 sm:grid-cols-2 dark:border-slate-800" data-testid="version-form">
                            <h3 class="text-sm font-semibold sm:col-span-2">"Upload a new version"</h3>
                            {move || refusal.get().map(|_| view! { <p role="alert" data-testid="form-error" class="sm:col-span-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700 dark:border-red-900 dark:bg-red-950/50 dark:text-red-300">"The new version was not uploaded."</p> })}
                            <FileInput error=refusal_for(refusal, "file") limit=d.max_upload_bytes />
                            <Field name="note" label="What changed" value=typed("note") optional=true error=refusal_for(refusal, "note") />
                            <div class="sm:col-span-2"><button type="submit" class=BUTTON data-testid="upload-version">"Upload version"</button></div>
                        </form>
                    })}
                </section>
                <HistoryCard entity_type="document" id=id rows=d.history.clone() />
            </div>
            <section class=format!("{CARD} space-y-2 h-fit") aria-labelledby="doc-settings-heading">
                <h2 id="doc-settings-heading" class=HEADING>"Details"</h2>
                <ActionForm action=update attr:class="space-y-2" attr:data-testid="document-form">
                    {outcome(update, "Document saved.")}
                    {reload_on_conflict(update)}
                    <input type="hidden" name="document_id" value=id.to_string() />
                    <input type="hidden" name="version" value=d.version.to_string() />
                    <Field name="title" label="Title" value=d.title.clone() error=field_error(update, "title") />
                    <Field name="tags" label="Tags" value=d.tags.join(", ") optional=true hint="Separated by commas." error=field_error(update, "tags") />
                    <fieldset>
                        <legend class=LABEL>"Metadata"</legend>
                        <div class="mt-1 space-y-1" data-testid="metadata">
                            {rows.into_iter().enumerate().map(|(i, (k, v))| view! {
                                <div class="grid grid-cols-2 gap-1">
                                    <input name="meta_key[]" value=k aria-label=format!("Key {}", i + 1) placeholder="key" class=INPUT disabled=!editable />
                                    <input name="meta_value[]" value=v aria-label=format!("Value {}", i + 1) placeholder="value" class=INPUT disabled=!editable />
                                </div>
                            }).collect_view()}
                        </div>
                        <p class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid="metadata-error">{move || field_error(update, "metadata").get()}</p>
                    </fieldset>
                    {editable.then(|| view! { <button type="submit" class=BUTTON data-testid="save-document">"Save details"</button> })}
                </ActionForm>
                {outcome(delete, "Document deleted.")}
                {outcome(restore, "Document restored.")}
                {(may(Perm::DocumentDelete) && !deleted).then(|| view! {
                    <Confirm label="Delete document" question="Delete this document? Its versions are kept, and it can be restored.">
                        <ActionForm action=delete>
                            <input type="hidden" name="document_id" value=id.to_string() />
                            <button type="submit" class=BUTTON_DANGER data-testid="confirm-delete-document">"Yes, delete"</button>
                        </ActionForm>
                    </Confirm>
                })}
                {(may(Perm::DocumentDelete) && deleted).then(|| view! {
                    <ActionForm action=restore>
                        <input type="hidden" name="document_id" value=id.to_string() />
                        <button type="submit" class=BUTTON_SECONDARY data-testid="restore-document">"Restore document"</button>
                    </ActionForm>
                })}
            </section>
        </div>
    }
}
