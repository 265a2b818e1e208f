//! Users API (contract section 4): reading and offboarding a former agent.

use reqwest::Method;

use crate::client::transport::Call;
use crate::client::{GenesysClient, check_id};
use crate::error::GenesysError;
use crate::models::{UpdateUser, User, UserLookupState, UserState};

impl GenesysClient {
    /// `GET /api/v2/users/{userId}?state=active|deleted` (`deleted` reads a
    /// soft-deleted user).
    pub async fn get_user(
        &self,
        user_id: &str,
        state: UserLookupState,
    ) -> Result<User, GenesysError> {
        check_id("user id", user_id)?;
        let mut url = self.api_url(&["users", user_id])?;
        url.query_pairs_mut().append_pair("state", state.as_str());
        let call = Call::new(Method::GET, "/api/v2/users/{userId}", url);
        self.execute(&call).await?.json()
    }

    /// `PATCH /api/v2/users/{userId}` with an [`UpdateUser`] whose `version` is the
    /// user's current one. A stale version gives `GenesysError::Conflict`: re-read and
    /// retry. Refuses an update that sets `state` together with other fields (Genesys
    /// would ignore them); use [`Self::set_user_state`].
    ///
    /// Retried like any idempotent call: a retry after an applied first attempt meets
    /// a bumped version and reports `Conflict` (see the error's `attempts`).
    pub async fn patch_user(
        &self,
        user_id: &str,
        update: &UpdateUser,
    ) -> Result<User, GenesysError> {
        check_id("user id", user_id)?;
        if update.state.is_some() {
            let fields = serde_json::to_value(update).map_err(|e| {
                GenesysError::invalid_request(format!("the user update cannot be encoded: {e}"))
            })?;
            let others = fields
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter(|k| *k != "version" && *k != "state")
                        .count()
                })
                .unwrap_or(0);
            if others > 0 {
                return Err(GenesysError::invalid_request(
                    "a user state change must be its own PATCH ({version, state}); Genesys ignores other fields sent with it",
                ));
            }
        }
        let url = self.api_url(&["users", user_id])?;
        let call = Call::new(Method::PATCH, "/api/v2/users/{userId}", url).json(update)?;
        self.execute(&call).await?.json()
    }

    /// `PATCH /api/v2/users/{userId}` with exactly `{version, state}`: deactivate,
    /// reactivate or restore a user.
    pub async fn set_user_state(
        &self,
        user_id: &str,
        version: i64,
        state: UserState,
    ) -> Result<User, GenesysError> {
        let update = UpdateUser {
            state: Some(state),
            ..UpdateUser::new(version)
        };
        self.patch_user(user_id, &update).await
    }

    /// `DELETE /api/v2/users/{userId}` (a soft delete; the user stays readable with
    /// `state=deleted`). A repeat after a successful delete reports `NotFound`.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), GenesysError> {
        check_id("user id", user_id)?;
        let url = self.api_url(&["users", user_id])?;
        let call = Call::new(Method::DELETE, "/api/v2/users/{userId}", url);
        // The body is `Empty` ({}); nothing in it to read.
        self.execute(&call).await?;
        Ok(())
    }
}
