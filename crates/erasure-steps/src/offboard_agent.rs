//! OffboardAgent: a former agent's user account is anonymised, deactivated and
//! deleted (a soft delete in Genesys, which is why it is anonymised first; a deleted
//! account that still carries personal data is restored, anonymised and deleted
//! again). The user is re-read before every change: an account that is ACTIVE now is
//! never touched, whatever the review saw.
//!
//! Idempotent: each pass reads the account and does only what is still missing.

use chrono::{DateTime, Utc};
use erasure_core::identifiers::GenesysUserId;
use erasure_core::pseudonym::Pseudonym;
use erasure_core::record::AgentAction;
use genesys::{GenesysError, UpdateUser, User, UserLookupState, UserState};
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id};
use crate::state::AgentSection;

pub type Deps = GenesysDeps;

/// The name an anonymised account carries.
pub const ERASED_NAME: &str = "Erased user";
const ERASED_DOMAIN: &str = "@erased.invalid";
/// Reads and changes before giving up (each change bumps the version).
const MAX_PASSES: usize = 8;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub agent: AgentSection,
    /// `$.subject.genesysUserId`: the only identifier this step reads.
    pub user_id: Option<GenesysUserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    /// Always `offboard`.
    pub step: String,
    pub action: AgentAction,
    pub user_ref: Option<Pseudonym>,
    /// What this run changed: `anonymised`, `restored`, `deactivated`, `deleted`.
    pub changes: Vec<String>,
    /// Personal fields of the account still set after it was anonymised (names
    /// only): Genesys did not clear them, and a person must.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields_left: Vec<String>,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let user_id = input
        .user_id
        .as_ref()
        .ok_or_else(|| StepError::input("userId is missing: there is no account to offboard"))?;
    let id = user_id.expose();
    let client = &deps.client;
    let mut changes: Vec<String> = Vec::new();
    let mut action = None;
    let mut fields_left: Vec<String> = Vec::new();
    // The other personal fields are cleared once per run: one Genesys keeps is
    // reported, not patched again and again.
    let mut cleared_once = false;
    for _ in 0..MAX_PASSES {
        let Some((user, deleted)) = read(deps, id).await? else {
            action = Some(AgentAction::NotFound);
            break;
        };
        fields_left = personal_fields_left(&user);
        let anonymised = is_anonymised(&user) && (cleared_once || fields_left.is_empty());
        let step = if !deleted && user.state == Some(UserState::Active) {
            action = Some(AgentAction::SkippedActive);
            break;
        } else if deleted && anonymised {
            action = Some(AgentAction::Offboarded);
            break;
        } else if deleted {
            client
                .set_user_state(id, user.version, UserState::Inactive)
                .await
                .map(|_| "restored")
        } else if !anonymised {
            cleared_once = true;
            client
                .patch_user(id, &anonymise(user.version))
                .await
                .map(|_| "anonymised")
        } else if user.state != Some(UserState::Inactive) {
            client
                .set_user_state(id, user.version, UserState::Inactive)
                .await
                .map(|_| "deactivated")
        } else {
            client.delete_user(id).await.map(|_| "deleted")
        };
        match step {
            Ok(change) => changes.push(change.to_owned()),
            // Someone changed the account meanwhile, or deleted it: read again.
            Err(GenesysError::Conflict(_) | GenesysError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let action = match action {
        Some(a) => a,
        None => {
            // The account kept changing under us: a conflict a person must look at.
            return Err(StepError::Genesys(GenesysError::Conflict(Box::default())));
        }
    };
    tracing::info!(ticket_id, action = ?action, changes = ?changes, "agent account handled");
    Ok(Output {
        step: "offboard".to_owned(),
        action,
        user_ref: input.agent.user_ref.clone(),
        changes,
        fields_left,
        at: deps.clock.now(),
    })
}

/// The account, and whether it is soft-deleted; `None` when Genesys has no such user.
async fn read(deps: &Deps, id: &str) -> Result<Option<(User, bool)>, StepError> {
    match deps.client.get_user(id, UserLookupState::Active).await {
        Ok(u) => Ok(Some((u, false))),
        Err(GenesysError::NotFound(_)) => {
            match deps.client.get_user(id, UserLookupState::Deleted).await {
                Ok(u) => Ok(Some((u, true))),
                Err(GenesysError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn is_anonymised(u: &User) -> bool {
    u.name.as_ref().is_some_and(|n| n.as_str() == ERASED_NAME)
        && u.email
            .as_ref()
            .is_some_and(|e| e.as_str().ends_with(ERASED_DOMAIN))
}

/// The personal fields (beyond name and address) still set on the account, by name.
fn personal_fields_left(u: &User) -> Vec<String> {
    let set = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    let object_set = |v: &Option<genesys::Pii<serde_json::Value>>| {
        v.as_ref().is_some_and(|v| match v.expose() {
            serde_json::Value::Object(o) => o.values().any(|x| {
                !(x.is_null()
                    || x.as_str().is_some_and(str::is_empty)
                    || x.as_array().is_some_and(Vec::is_empty))
            }),
            serde_json::Value::Null => false,
            _ => true,
        })
    };
    let preferred = (u.preferred_name.as_ref()).is_some_and(|n| n.as_str() != ERASED_NAME);
    [
        ("title", set(&u.title)),
        ("department", set(&u.department)),
        ("biography", object_set(&u.biography)),
        ("employerInfo", object_set(&u.employer_info)),
        ("certifications", !u.certifications.is_empty()),
        ("manager", u.manager.is_some()),
        ("addresses", !u.addresses.is_empty()),
        ("images", !u.images.is_empty()),
        ("preferredName", preferred),
        ("profileSkills", !u.profile_skills.is_empty()),
        ("locations", !u.locations.is_empty()),
    ]
    .into_iter()
    .filter(|(_, left)| *left)
    .map(|(f, _)| f.to_owned())
    .collect()
}

/// Every personal field the Users API has, replaced or cleared. The address is unique
/// (Genesys needs one) and says nothing about the person. Each field is cleared with
/// an empty value of its type, and a structured one field by field (assumption: the
/// Users API documents no other way; `personal_fields_left` checks what stayed).
fn anonymise(version: i64) -> UpdateUser {
    let address = format!("erased-{}{ERASED_DOMAIN}", uuid::Uuid::new_v4());
    UpdateUser {
        name: Some(ERASED_NAME.into()),
        preferred_name: Some(ERASED_NAME.into()),
        email: Some(address.clone().into()),
        username: Some(address.into()),
        addresses: Some(Vec::new()),
        images: Some(Vec::new()),
        title: Some(String::new()),
        department: Some(String::new()),
        certifications: Some(Vec::new()),
        manager: Some(String::new()),
        profile_skills: Some(Vec::new()),
        locations: Some(Vec::new()),
        biography: Some(
            serde_json::json!({"biography": "", "interests": [], "hobbies": [], "spouse": "", "education": []})
                .into(),
        ),
        employer_info: Some(
            serde_json::json!({"officialName": "", "employeeId": "", "employeeType": "", "dateHire": null})
                .into(),
        ),
        ..UpdateUser::new(version)
    }
}
