//! Recordings (contract 5.1, 5.2) and recording deletion protection (contract 6).

use chrono::{DateTime, Utc};
use reqwest::Method;

use crate::client::transport::Call;
use crate::client::{GenesysClient, check_id};
use crate::error::GenesysError;
use crate::models::{
    AddressableEntityRef, ConversationDeletionProtectionQuery, ManageDeleteProtectionResult,
    Recording, RecordingMetadata,
};

/// Most conversation ids one deletion-protection call takes.
pub const DELETION_PROTECTION_BATCH: usize = 100;

impl GenesysClient {
    /// `GET /api/v2/conversations/{conversationId}/recordingmetadata`: every recording
    /// of a conversation, without media.
    pub async fn list_recording_metadata(
        &self,
        conversation_id: &str,
    ) -> Result<Vec<RecordingMetadata>, GenesysError> {
        check_id("conversation id", conversation_id)?;
        let url = self.api_url(&["conversations", conversation_id, "recordingmetadata"])?;
        let call = Call::new(
            Method::GET,
            "/api/v2/conversations/{conversationId}/recordingmetadata",
            url,
        );
        self.execute(&call).await?.json()
    }

    /// `PUT /api/v2/conversations/{conversationId}/recordings/{recordingId}
    /// [?clearExport=]`: updates a recording's retention dates.
    pub async fn put_recording(
        &self,
        conversation_id: &str,
        recording_id: &str,
        recording: &Recording,
        clear_export: Option<bool>,
    ) -> Result<Recording, GenesysError> {
        check_id("conversation id", conversation_id)?;
        check_id("recording id", recording_id)?;
        let mut url =
            self.api_url(&["conversations", conversation_id, "recordings", recording_id])?;
        if let Some(clear) = clear_export {
            url.query_pairs_mut()
                .append_pair("clearExport", if clear { "true" } else { "false" });
        }
        let call = Call::new(
            Method::PUT,
            "/api/v2/conversations/{conversationId}/recordings/{recordingId}",
            url,
        )
        .json(recording)?;
        self.execute(&call).await?.json()
    }

    /// Schedules a recording's deletion: `PUT` with a `Recording` body carrying only
    /// `deleteDate` (there is no DELETE verb for recordings).
    pub async fn set_recording_delete_date(
        &self,
        conversation_id: &str,
        recording_id: &str,
        delete_date: DateTime<Utc>,
    ) -> Result<Recording, GenesysError> {
        let body = Recording {
            delete_date: Some(delete_date),
            ..Recording::default()
        };
        self.put_recording(conversation_id, recording_id, &body, None)
            .await
    }

    /// `POST /api/v2/recordings/deletionprotection`: which of `conversation_ids` are
    /// protected from deletion (a legal hold). Lists longer than 100 are sent in
    /// batches of 100 and the answers joined; an empty list makes no call.
    pub async fn protected_conversations(
        &self,
        conversation_ids: &[String],
    ) -> Result<Vec<AddressableEntityRef>, GenesysError> {
        check_ids(conversation_ids)?;
        let mut protected = Vec::new();
        for batch in conversation_ids.chunks(DELETION_PROTECTION_BATCH) {
            let url = self.api_url(&["recordings", "deletionprotection"])?;
            let body = ConversationDeletionProtectionQuery {
                conversation_ids: batch.to_vec(),
            };
            let call = Call::new(Method::POST, "/api/v2/recordings/deletionprotection", url)
                .json(&body)?
                .read_only();
            let page: Vec<AddressableEntityRef> = self.execute(&call).await?.json()?;
            protected.extend(page);
        }
        Ok(protected)
    }

    /// `PUT /api/v2/recordings/deletionprotection?protect=true|false`: applies or
    /// releases deletion protection, in batches of 100. Genesys answers 204 (older
    /// descriptions) or a `ManageDeleteProtectionResult` (JS SDK 259); failures of all
    /// batches are joined.
    pub async fn set_deletion_protection(
        &self,
        conversation_ids: &[String],
        protect: bool,
    ) -> Result<ManageDeleteProtectionResult, GenesysError> {
        check_ids(conversation_ids)?;
        let mut result = ManageDeleteProtectionResult::default();
        for batch in conversation_ids.chunks(DELETION_PROTECTION_BATCH) {
            let mut url = self.api_url(&["recordings", "deletionprotection"])?;
            url.query_pairs_mut()
                .append_pair("protect", if protect { "true" } else { "false" });
            let body = ConversationDeletionProtectionQuery {
                conversation_ids: batch.to_vec(),
            };
            let call =
                Call::new(Method::PUT, "/api/v2/recordings/deletionprotection", url).json(&body)?;
            let reply = self.execute(&call).await?;
            if !reply.body.iter().all(u8::is_ascii_whitespace) {
                let part: ManageDeleteProtectionResult = reply.json()?;
                result.failed_updates.extend(part.failed_updates);
            }
        }
        Ok(result)
    }
}

fn check_ids(ids: &[String]) -> Result<(), GenesysError> {
    if let Some(position) = ids.iter().position(|id| id.trim().is_empty()) {
        return Err(GenesysError::invalid_request(format!(
            "conversation id #{} is empty",
            position + 1
        )));
    }
    Ok(())
}
