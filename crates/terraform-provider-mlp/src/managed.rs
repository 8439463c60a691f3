//! The plugin protocol's side of a resource, written once. Every resource of this provider is an
//! object behind the server's API with the same life: read is fetch-and-convert (gone means
//! Terraform creates it again), create and update call the API and then read the object back so
//! the state is what the server holds, destroy treats "already gone" as done, and import fetches
//! by an ID. A resource ([`ApiObject`]) says only what differs: its schema and checks, its API
//! calls, and how a plan changes its computed attributes; [`Managed`] turns it into a
//! `tf_provider::Resource`.

use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tf_provider::schema::Schema;
use tf_provider::value::ValueEmpty;
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::client::{ApiError, Client};
use crate::common::{Shared, api_diag, client, root_err};

#[async_trait]
pub trait ApiObject: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Clone + Default + Send + Sync;
    /// What the object is called in messages: "experiment", "role assignment".
    const KIND: &'static str;
    /// What `terraform import` takes, said when an import finds nothing.
    const IMPORT_HINT: &'static str;

    fn schema() -> Schema;

    /// Plan-time checks of the configuration; problems go to `diags` with their attribute.
    fn validate(diags: &mut Diagnostics, config: &Self::State);

    /// The object's ID in `state`, when known.
    fn id(state: &Self::State) -> Option<String>;

    /// The object as state, or `Ok(None)` when it is gone (soft-deleted counts as gone). `prior`
    /// supplies what the server does not return (write-only passwords, configuration-only flags,
    /// which `mlflow.` tags are tracked).
    async fn fetch(c: &Client, id: &str, prior: &Self::State) -> Result<Option<Self::State>, ApiError>;

    /// Plan-time checks against the server (the provider is configured), for mistakes that would
    /// otherwise only fail the apply; `prior` is `None` for a new object.
    async fn check_plan(_c: &Client, _diags: &mut Diagnostics, _prior: Option<&Self::State>, _proposed: &Self::State) {}

    /// The planned state of a new object: computed attributes become unknown.
    fn plan_create(proposed: Self::State) -> Self::State;

    /// The planned state of a change, and the attributes whose change replaces the object.
    fn plan_update(
        prior: &Self::State,
        proposed: Self::State,
        config: &Self::State,
    ) -> (Self::State, Vec<AttributePath>);

    /// Creates the object and returns its ID; a failure is reported in `diags` as `None`.
    async fn create(c: &Client, diags: &mut Diagnostics, planned: &Self::State) -> Option<String>;

    /// Applies the in-place changes from `prior` to `planned` (those that do not replace).
    async fn update(c: &Client, diags: &mut Diagnostics, prior: &Self::State, planned: &Self::State) -> Option<()>;

    /// Deletes the object; "not found" is taken as done by the caller.
    async fn delete(c: &Client, id: &str, prior: &Self::State) -> Result<(), ApiError>;

    /// A problem with an import ID's form, found before any call.
    fn import_id_problem(_id: &str) -> Option<String> {
        None
    }

    /// The object an import ID names. The default fetches it by that ID.
    async fn import(c: &Client, diags: &mut Diagnostics, id: &str) -> Option<Self::State> {
        match Self::fetch(c, id, &Self::State::default()).await {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                not_importable::<Self>(diags, c, id);
                None
            }
            Err(e) if e.is_not_found() => {
                not_importable::<Self>(diags, c, id);
                None
            }
            Err(e) => {
                api_diag(diags, format!("to import {} {id:?}", Self::KIND), &e);
                None
            }
        }
    }
}

fn not_importable<R: ApiObject + ?Sized>(diags: &mut Diagnostics, c: &Client, id: &str) {
    root_err(
        diags,
        format!("Cannot import {}", R::KIND),
        format!("No {} {id:?} on {}. {}", R::KIND, c.host(), R::IMPORT_HINT),
    );
}

/// An [`ApiObject`] as a Terraform resource, sharing the provider's configured client.
pub struct Managed<R>(Shared, PhantomData<fn() -> R>);

impl<R> Managed<R> {
    pub fn new(shared: Shared) -> Self {
        Self(shared, PhantomData)
    }
}

impl<R: ApiObject> Managed<R> {
    /// The client when the provider is configured; plans can run before it is (a host from a
    /// resource not yet created), and then skip the server checks.
    fn configured(&self) -> Option<Client> {
        self.0.read().ok().and_then(|g| g.clone())
    }

    /// Reads the object back after a change, so the state holds what the server stored.
    async fn read_back(
        &self,
        diags: &mut Diagnostics,
        c: &Client,
        id: &str,
        planned: &R::State,
        after: &str,
    ) -> Option<R::State> {
        match R::fetch(c, id, planned).await {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                root_err(
                    diags,
                    format!("The {} vanished", R::KIND),
                    format!(
                        "{} {id:?} was not found right after {after} it: something deleted it meanwhile.",
                        R::KIND
                    ),
                );
                None
            }
            Err(e) => {
                api_diag(diags, format!("to read {} {id:?} after {after} it", R::KIND), &e);
                None
            }
        }
    }
}

#[async_trait]
impl<R: ApiObject> Resource for Managed<R> {
    type State<'a> = R::State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(R::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        R::validate(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = R::id(&state)?;
        match R::fetch(&c, &id, &state).await {
            Ok(Some(s)) => Some((s, private)),
            // Gone: the next plan creates it again.
            Ok(None) => None,
            Err(e) if e.is_not_found() => None,
            // Unreachable or refused: keep the state rather than plan a re-creation.
            Err(e) => {
                api_diag(diags, format!("to read {} {id:?}", R::KIND), &e);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if let Some(c) = self.configured() {
            R::check_plan(&c, diags, None, &proposed).await;
        }
        Some((R::plan_create(proposed), ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        if let Some(c) = self.configured() {
            R::check_plan(&c, diags, Some(&prior), &proposed).await;
        }
        let (s, replace) = R::plan_update(&prior, proposed, &config);
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = R::create(&c, diags, &planned).await?;
        let s = self.read_back(diags, &c, &id, &planned, "creating").await?;
        Some((s, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = R::id(&prior)?;
        R::update(&c, diags, &prior, &planned).await?;
        // The ID may change in place (a rename of a model, whose name is its ID).
        let id = R::id(&planned).unwrap_or(id);
        let s = self.read_back(diags, &c, &id, &planned, "updating").await?;
        Some((s, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let c = client(&self.0, diags)?;
        let id = R::id(&prior)?;
        match R::delete(&c, &id, &prior).await {
            Ok(()) => Some(()),
            Err(e) if e.is_not_found() => Some(()),
            Err(e) => {
                api_diag(diags, format!("to delete {} {id:?}", R::KIND), &e);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if let Some(problem) = R::import_id_problem(&id) {
            root_err(diags, "Invalid import ID", problem);
            return None;
        }
        let c = client(&self.0, diags)?;
        let s = R::import(&c, diags, &id).await?;
        Some((s, ValueEmpty::default()))
    }
}
