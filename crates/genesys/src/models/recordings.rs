//! Recording models (contract 5.1, 5.2, 6): metadata, retention dates, deletion
//! protection. Transcripts and media URIs are not modelled (the pipeline never reads
//! them, and they are personal data through and through).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::AddressableEntityRef;
use crate::Pii;

open_enum! {
    /// `mediaSubtype` of a recording.
    pub enum MediaSubtype {
        /// Trunk-side recording.
        Trunk = "Trunk",
        /// Station-side recording.
        Station = "Station",
        /// Consult call.
        Consult = "Consult",
        /// Screen recording.
        Screen = "Screen",
        /// Snippet.
        Snippet = "Snippet",
    }
}

open_enum! {
    /// `fileState` of a recording.
    pub enum FileState {
        /// In cold storage.
        Archived = "ARCHIVED",
        /// Playable.
        Available = "AVAILABLE",
        /// Deleted.
        Deleted = "DELETED",
        /// Restored from archive.
        Restored = "RESTORED",
        /// Being restored.
        Restoring = "RESTORING",
        /// Still uploading (retention cannot be changed yet).
        Uploading = "UPLOADING",
        /// Failed.
        Error = "ERROR",
    }
}

open_enum! {
    /// `archiveMedium`.
    pub enum ArchiveMedium {
        /// Genesys cloud archive.
        Cloudarchive = "CLOUDARCHIVE",
    }
}

open_enum! {
    /// `Recording.recordingFileRole`.
    pub enum RecordingFileRole {
        /// Customer-facing recording.
        CustomerExperience = "CUSTOMER_EXPERIENCE",
        /// Ad-hoc recording.
        Adhoc = "ADHOC",
    }
}

/// `Annotation` of a recording (bookmarks, holds, pauses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    /// Annotation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Kind of annotation.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Offset in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<i64>,
    /// Duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// `RecordingMetadata`: a recording without playable media.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingMetadata {
    /// Recording id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name (can name a participant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Conversation it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Storage path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Pii<String>>,
    /// Start (a plain string in the contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// End (a plain string in the contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// audio, chat, email, message, screen, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<String>,
    /// Trunk, Station, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_subtype: Option<MediaSubtype>,
    /// E-mail subject and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_subject: Option<Pii<String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// Storage state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_state: Option<FileState>,
    /// When a restored recording goes back to archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_expiration_time: Option<DateTime<Utc>>,
    /// When it is (or was) archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_date: Option<DateTime<Utc>>,
    /// Archive medium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_medium: Option<ArchiveMedium>,
    /// When it will be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_date: Option<DateTime<Utc>>,
    /// When it will be exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_date: Option<DateTime<Utc>>,
    /// When it was exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_date: Option<DateTime<Utc>>,
    /// Media session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// AWS region of storage, e.g. `eu-west-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `Recording`: returned by the recordings calls and the body of
/// `PUT /api/v2/conversations/{conversationId}/recordings/{recordingId}`, where only
/// the retention dates matter. Every field is optional and sent only when set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    /// Recording id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Conversation it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Storage path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Pii<String>>,
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Media kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<String>,
    /// Trunk, Station, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_subtype: Option<MediaSubtype>,
    /// E-mail subject and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_subject: Option<Pii<String>>,
    /// Storage state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_state: Option<FileState>,
    /// When a restored recording goes back to archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_expiration_time: Option<DateTime<Utc>>,
    /// When it is archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_date: Option<DateTime<Utc>>,
    /// Archive medium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_medium: Option<ArchiveMedium>,
    /// When it will be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_date: Option<DateTime<Utc>>,
    /// When it will be exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_date: Option<DateTime<Utc>>,
    /// When it was exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_date: Option<DateTime<Utc>>,
    /// Media session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// CUSTOMER_EXPERIENCE or ADHOC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_file_role: Option<RecordingFileRole>,
    /// When the recording was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<DateTime<Utc>>,
    /// URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `ConversationDeletionProtectionQuery` {conversationIds} (at most 100 ids per call;
/// the client splits longer lists).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDeletionProtectionQuery {
    /// Conversation ids.
    pub conversation_ids: Vec<String>,
}

/// `ManageDeleteProtectionResult` (JS SDK 259) of
/// `PUT /api/v2/recordings/deletionprotection`; older descriptions give 204 with no
/// body, which the client reads as "no failures".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManageDeleteProtectionResult {
    /// Conversations whose protection could not be changed.
    #[serde(default)]
    pub failed_updates: Vec<FailedDeleteProtectionUpdate>,
}

/// One entry of [`ManageDeleteProtectionResult::failed_updates`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedDeleteProtectionUpdate {
    /// The conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<AddressableEntityRef>,
    /// Why (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Pii<String>>,
    /// Error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_put_body_carries_only_the_delete_date() {
        let body = Recording {
            delete_date: Some("2026-12-01T00:00:00Z".parse().unwrap()),
            ..Recording::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"deleteDate": "2026-12-01T00:00:00Z"})
        );
    }

    #[test]
    fn unknown_file_state_is_kept() {
        let m: RecordingMetadata =
            serde_json::from_str(r#"{"id":"r","fileState":"FROZEN","mediaSubtype":"Hologram"}"#)
                .unwrap();
        assert_eq!(m.file_state, Some(FileState::Unknown("FROZEN".into())));
        let back = serde_json::to_value(&m).unwrap();
        assert_eq!(back["fileState"], "FROZEN");
        assert_eq!(back["mediaSubtype"], "Hologram");
    }
}
