//! Analytics conversation-details models (contract 5.3): the synchronous details
//! query used to find a subject's conversations by phone number and date.
//!
//! The query interval matches conversations that *started on a day touched by* the
//! interval, so callers post-filter on exact timestamps.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Pii;

/// The longest interval this client asks the synchronous details query for. Neither
/// the contract nor the OpenAPI extract states the documented maximum (contract.md
/// section 9 lists it as open). Integrators report a 413 for intervals over 31 days, so
/// 31 is the first try; a 413 halves the slice (down to [`MIN_DETAILS_QUERY_INTERVAL`])
/// in case a real org's limit is smaller. A 10-year look-back is then about 120
/// queries, where 7-day slices cost 520 and tripped the org's rate limit.
pub const MAX_DETAILS_QUERY_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::days(31);
/// The shortest slice a 413 halves down to: one day (the query answers per day).
pub const MIN_DETAILS_QUERY_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// `ConversationQuery.interval`: ISO-8601 `start/end`, start before end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// An interval whose end is not after its start, or that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid analytics interval: {reason}")]
pub struct InvalidInterval {
    /// What is wrong.
    pub reason: String,
}

impl Interval {
    /// `start/end`; refuses an empty or reversed interval.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, InvalidInterval> {
        if end <= start {
            return Err(InvalidInterval {
                reason: format!("end {end} is not after start {start}"),
            });
        }
        Ok(Self { start, end })
    }

    /// Start (inclusive).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// End (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// `end - start`.
    pub fn length(&self) -> chrono::TimeDelta {
        self.end - self.start
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.start.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.end.to_rfc3339_opts(SecondsFormat::Millis, true)
        )
    }
}

impl FromStr for Interval {
    type Err = InvalidInterval;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (start, end) = s.split_once('/').ok_or_else(|| InvalidInterval {
            reason: "expected start/end".into(),
        })?;
        let parse = |part: &str, which: &str| {
            DateTime::parse_from_rfc3339(part)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| InvalidInterval {
                    reason: format!("{which} is not an ISO-8601 date-time: {e}"),
                })
        };
        Interval::new(parse(start, "start")?, parse(end, "end")?)
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

open_enum! {
    /// `type` of a filter or clause.
    pub enum FilterType {
        /// Every predicate must hold.
        And = "and",
        /// Any predicate may hold.
        Or = "or",
    }
}

open_enum! {
    /// `type` of a predicate.
    pub enum PredicateType {
        /// Compares a dimension.
        Dimension = "dimension",
        /// Compares a custom property.
        Property = "property",
        /// Compares a metric.
        Metric = "metric",
    }
}

open_enum! {
    /// `operator` of a predicate.
    pub enum Operator {
        /// Equals `value` (or within `range`).
        Matches = "matches",
        /// The dimension is present.
        Exists = "exists",
        /// The dimension is absent.
        NotExists = "notExists",
    }
}

open_enum! {
    /// `ConversationQuery.order`.
    pub enum SortOrder {
        /// Ascending.
        Asc = "asc",
        /// Descending.
        Desc = "desc",
        /// Unordered.
        Unordered = "unordered",
    }
}

open_enum! {
    /// `ConversationQuery.orderBy`.
    pub enum OrderBy {
        /// Conversation start.
        ConversationStart = "conversationStart",
        /// Conversation end.
        ConversationEnd = "conversationEnd",
        /// Segment start.
        SegmentStart = "segmentStart",
        /// Segment end.
        SegmentEnd = "segmentEnd",
    }
}

open_enum! {
    /// `propertyType` of a segment property predicate.
    pub enum PropertyType {
        /// Boolean.
        Bool = "bool",
        /// Integer.
        Integer = "integer",
        /// Real number.
        Real = "real",
        /// Date.
        Date = "date",
        /// String.
        String = "string",
        /// UUID.
        Uuid = "uuid",
    }
}

open_enum! {
    /// `direction` / `originatingDirection`.
    pub enum Direction {
        /// Inbound.
        Inbound = "inbound",
        /// Outbound.
        Outbound = "outbound",
    }
}

open_enum! {
    /// `AnalyticsQueryAggregation.type` / `AggregationResult.type`.
    pub enum AggregationType {
        /// Counts per term.
        TermFrequency = "termFrequency",
        /// Counts per numeric range.
        NumericRange = "numericRange",
    }
}

open_enum! {
    /// Segment-level dimension of a segment filter predicate (`ani`, `dnis`, `addressFrom`, ...).
    pub enum SegmentDimension {
        /// `addressFrom`
        AddressFrom = "addressFrom",
        /// `addressTo`
        AddressTo = "addressTo",
        /// `agentAssistantId`
        AgentAssistantId = "agentAssistantId",
        /// `agentOwned`
        AgentOwned = "agentOwned",
        /// `ani`
        Ani = "ani",
        /// `authenticated`
        Authenticated = "authenticated",
        /// `bargedParticipantId`
        BargedParticipantId = "bargedParticipantId",
        /// `callbackNumber`
        CallbackNumber = "callbackNumber",
        /// `callbackScheduledTime`
        CallbackScheduledTime = "callbackScheduledTime",
        /// `canonicalExternalContactId`
        CanonicalExternalContactId = "canonicalExternalContactId",
        /// `cleared`
        Cleared = "cleared",
        /// `coachedParticipantId`
        CoachedParticipantId = "coachedParticipantId",
        /// `conference`
        Conference = "conference",
        /// `deliveryPushed`
        DeliveryPushed = "deliveryPushed",
        /// `deliveryStatus`
        DeliveryStatus = "deliveryStatus",
        /// `destinationAddress`
        DestinationAddress = "destinationAddress",
        /// `destinationConversationId`
        DestinationConversationId = "destinationConversationId",
        /// `detectedSpeechEnd`
        DetectedSpeechEnd = "detectedSpeechEnd",
        /// `detectedSpeechStart`
        DetectedSpeechStart = "detectedSpeechStart",
        /// `direction`
        Direction = "direction",
        /// `disconnectType`
        DisconnectType = "disconnectType",
        /// `dnis`
        Dnis = "dnis",
        /// `edgeId`
        EdgeId = "edgeId",
        /// `engagementSource`
        EngagementSource = "engagementSource",
        /// `errorCode`
        ErrorCode = "errorCode",
        /// `exitReason`
        ExitReason = "exitReason",
        /// `extendedDeliveryStatus`
        ExtendedDeliveryStatus = "extendedDeliveryStatus",
        /// `externalContactId`
        ExternalContactId = "externalContactId",
        /// `externalOrganizationId`
        ExternalOrganizationId = "externalOrganizationId",
        /// `flaggedReason`
        FlaggedReason = "flaggedReason",
        /// `flowId`
        FlowId = "flowId",
        /// `flowName`
        FlowName = "flowName",
        /// `flowOutType`
        FlowOutType = "flowOutType",
        /// `flowOutcome`
        FlowOutcome = "flowOutcome",
        /// `flowOutcomeId`
        FlowOutcomeId = "flowOutcomeId",
        /// `flowOutcomeValue`
        FlowOutcomeValue = "flowOutcomeValue",
        /// `flowVersion`
        FlowVersion = "flowVersion",
        /// `groupId`
        GroupId = "groupId",
        /// `journeyActionId`
        JourneyActionId = "journeyActionId",
        /// `journeyActionMapId`
        JourneyActionMapId = "journeyActionMapId",
        /// `journeyCustomerId`
        JourneyCustomerId = "journeyCustomerId",
        /// `journeyCustomerIdType`
        JourneyCustomerIdType = "journeyCustomerIdType",
        /// `journeyCustomerSessionId`
        JourneyCustomerSessionId = "journeyCustomerSessionId",
        /// `mediaCount`
        MediaCount = "mediaCount",
        /// `mediaType`
        MediaType = "mediaType",
        /// `messageType`
        MessageType = "messageType",
        /// `monitoredParticipantId`
        MonitoredParticipantId = "monitoredParticipantId",
        /// `outboundCampaignId`
        OutboundCampaignId = "outboundCampaignId",
        /// `outboundContactId`
        OutboundContactId = "outboundContactId",
        /// `outboundContactListId`
        OutboundContactListId = "outboundContactListId",
        /// `participantName`
        ParticipantName = "participantName",
        /// `protocolCallId`
        ProtocolCallId = "protocolCallId",
        /// `provider`
        Provider = "provider",
        /// `purpose`
        Purpose = "purpose",
        /// `queueId`
        QueueId = "queueId",
        /// `recording`
        Recording = "recording",
        /// `remote`
        Remote = "remote",
        /// `remoteNameDisplayable`
        RemoteNameDisplayable = "remoteNameDisplayable",
        /// `requestedLanguageId`
        RequestedLanguageId = "requestedLanguageId",
        /// `requestedRouting`
        RequestedRouting = "requestedRouting",
        /// `requestedRoutingSkillId`
        RequestedRoutingSkillId = "requestedRoutingSkillId",
        /// `scoredAgentId`
        ScoredAgentId = "scoredAgentId",
        /// `screenMonitoredUserId`
        ScreenMonitoredUserId = "screenMonitoredUserId",
        /// `screenRecording`
        ScreenRecording = "screenRecording",
        /// `scriptId`
        ScriptId = "scriptId",
        /// `segmentEnd`
        SegmentEnd = "segmentEnd",
        /// `segmentType`
        SegmentType = "segmentType",
        /// `sessionDnis`
        SessionDnis = "sessionDnis",
        /// `sipResponseCode`
        SipResponseCode = "sipResponseCode",
        /// `skillExpressionId`
        SkillExpressionId = "skillExpressionId",
        /// `snippetRecording`
        SnippetRecording = "snippetRecording",
        /// `subject`
        Subject = "subject",
        /// `teamId`
        TeamId = "teamId",
        /// `transferTargetAddress`
        TransferTargetAddress = "transferTargetAddress",
        /// `transferTargetName`
        TransferTargetName = "transferTargetName",
        /// `transferType`
        TransferType = "transferType",
        /// `usedRouting`
        UsedRouting = "usedRouting",
        /// `userId`
        UserId = "userId",
        /// `wrapUpCode`
        WrapUpCode = "wrapUpCode",
        /// `wrapUpNote`
        WrapUpNote = "wrapUpNote",
    }
}

open_enum! {
    /// Conversation-level dimension of a conversation filter predicate.
    pub enum ConversationDimension {
        /// `accessAttribute`
        AccessAttribute = "accessAttribute",
        /// `conversationEnd`
        ConversationEnd = "conversationEnd",
        /// `conversationId`
        ConversationId = "conversationId",
        /// `conversationInitiator`
        ConversationInitiator = "conversationInitiator",
        /// `conversationStart`
        ConversationStart = "conversationStart",
        /// `customerParticipation`
        CustomerParticipation = "customerParticipation",
        /// `divisionId`
        DivisionId = "divisionId",
        /// `externalTag`
        ExternalTag = "externalTag",
        /// `mediaStatsMinConversationMos`
        MediaStatsMinConversationMos = "mediaStatsMinConversationMos",
        /// `originatingDirection`
        OriginatingDirection = "originatingDirection",
        /// `originatingSocialMediaPublic`
        OriginatingSocialMediaPublic = "originatingSocialMediaPublic",
    }
}

open_enum! {
    /// `purpose` of a participant, also `conversationInitiator`.
    pub enum Purpose {
        /// `acd`
        Acd = "acd",
        /// `agent`
        Agent = "agent",
        /// `api`
        Api = "api",
        /// `botflow`
        Botflow = "botflow",
        /// `campaign`
        Campaign = "campaign",
        /// `customer`
        Customer = "customer",
        /// `dialer`
        Dialer = "dialer",
        /// `external`
        External = "external",
        /// `fax`
        Fax = "fax",
        /// `group`
        Group = "group",
        /// `inbound`
        Inbound = "inbound",
        /// `ivr`
        Ivr = "ivr",
        /// `manual`
        Manual = "manual",
        /// `outbound`
        Outbound = "outbound",
        /// `station`
        Station = "station",
        /// `user`
        User = "user",
        /// `voicemail`
        Voicemail = "voicemail",
        /// `voicesurveyflow`
        Voicesurveyflow = "voicesurveyflow",
        /// `workflow`
        Workflow = "workflow",
    }
}

open_enum! {
    /// `mediaType` of a session.
    pub enum MediaType {
        /// `callback`
        Callback = "callback",
        /// `chat`
        Chat = "chat",
        /// `cobrowse`
        Cobrowse = "cobrowse",
        /// `email`
        Email = "email",
        /// `internalmessage`
        Internalmessage = "internalmessage",
        /// `message`
        Message = "message",
        /// `screenmonitoring`
        Screenmonitoring = "screenmonitoring",
        /// `screenshare`
        Screenshare = "screenshare",
        /// `unknown`: Genesys's own value, not a value new to this client
        UnknownMedia = "unknown",
        /// `video`
        Video = "video",
        /// `voice`
        Voice = "voice",
    }
}

open_enum! {
    /// `segmentType` of a segment.
    pub enum SegmentType {
        /// `alert`
        Alert = "alert",
        /// `barging`
        Barging = "barging",
        /// `callback`
        Callback = "callback",
        /// `coaching`
        Coaching = "coaching",
        /// `contacting`
        Contacting = "contacting",
        /// `converting`
        Converting = "converting",
        /// `delay`
        Delay = "delay",
        /// `dialing`
        Dialing = "dialing",
        /// `hold`
        Hold = "hold",
        /// `interact`
        Interact = "interact",
        /// `ivr`
        Ivr = "ivr",
        /// `monitoring`
        Monitoring = "monitoring",
        /// `parked`
        Parked = "parked",
        /// `scheduled`
        Scheduled = "scheduled",
        /// `screenmonitoring`
        Screenmonitoring = "screenmonitoring",
        /// `sharing`
        Sharing = "sharing",
        /// `system`
        System = "system",
        /// `transmitting`
        Transmitting = "transmitting",
        /// `unknown`: Genesys's own value, not a value new to this client
        UnknownSegment = "unknown",
        /// `uploading`
        Uploading = "uploading",
        /// `voicemail`
        Voicemail = "voicemail",
        /// `wrapup`
        Wrapup = "wrapup",
    }
}

/// `NumericRange` of a predicate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumericRange {
    /// Greater than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Greater than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Less than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Less than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
}

/// `SegmentDetailQueryPredicate`. `value` is [`Pii`]: for `ani`, `dnis`,
/// `addressFrom`, ... it is a phone number or address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentDetailQueryPredicate {
    /// dimension, property or metric (dimension when absent).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PredicateType>,
    /// The dimension compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<SegmentDimension>,
    /// Type of `property`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_type: Option<PropertyType>,
    /// Custom property compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Metric compared (`tSegmentDuration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// matches (default), exists, notExists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// Value to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Pii<String>>,
    /// Range to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<NumericRange>,
}

impl SegmentDetailQueryPredicate {
    /// `{type: dimension, dimension, operator: matches, value}`.
    pub fn dimension_matches(dimension: SegmentDimension, value: impl Into<String>) -> Self {
        Self {
            kind: Some(PredicateType::Dimension),
            dimension: Some(dimension),
            operator: Some(Operator::Matches),
            value: Some(Pii::new(value.into())),
            ..Self::default()
        }
    }
}

/// `SegmentDetailQueryClause`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentDetailQueryClause {
    /// and / or.
    #[serde(rename = "type")]
    pub kind: FilterType,
    /// Predicates.
    pub predicates: Vec<SegmentDetailQueryPredicate>,
}

/// `SegmentDetailQueryFilter`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentDetailQueryFilter {
    /// and / or.
    #[serde(rename = "type")]
    pub kind: FilterType,
    /// Nested clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<SegmentDetailQueryClause>,
    /// Predicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<SegmentDetailQueryPredicate>,
}

impl SegmentDetailQueryFilter {
    /// Matches a segment where any of `predicates` holds.
    pub fn any(predicates: Vec<SegmentDetailQueryPredicate>) -> Self {
        Self {
            kind: FilterType::Or,
            clauses: Vec::new(),
            predicates,
        }
    }

    /// Matches a segment where all of `predicates` hold.
    pub fn all(predicates: Vec<SegmentDetailQueryPredicate>) -> Self {
        Self {
            kind: FilterType::And,
            clauses: Vec::new(),
            predicates,
        }
    }

    /// Segments whose `ani` or `dnis` is `number` (either side of the call).
    pub fn ani_or_dnis(number: &str) -> Self {
        Self::any(vec![
            SegmentDetailQueryPredicate::dimension_matches(SegmentDimension::Ani, number),
            SegmentDetailQueryPredicate::dimension_matches(SegmentDimension::Dnis, number),
        ])
    }
}

/// `ConversationDetailQueryPredicate`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetailQueryPredicate {
    /// dimension, property or metric.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PredicateType>,
    /// The dimension compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<ConversationDimension>,
    /// Metric compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// matches (default), exists, notExists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// Value to match (`externalTag` can be personal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Pii<String>>,
    /// Range to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<NumericRange>,
}

impl ConversationDetailQueryPredicate {
    /// `{type: dimension, dimension, operator: matches, value}`.
    pub fn dimension_matches(dimension: ConversationDimension, value: impl Into<String>) -> Self {
        Self {
            kind: Some(PredicateType::Dimension),
            dimension: Some(dimension),
            operator: Some(Operator::Matches),
            value: Some(Pii::new(value.into())),
            ..Self::default()
        }
    }
}

/// `ConversationDetailQueryClause`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetailQueryClause {
    /// and / or.
    #[serde(rename = "type")]
    pub kind: FilterType,
    /// Predicates.
    pub predicates: Vec<ConversationDetailQueryPredicate>,
}

/// `ConversationDetailQueryFilter`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetailQueryFilter {
    /// and / or.
    #[serde(rename = "type")]
    pub kind: FilterType,
    /// Nested clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<ConversationDetailQueryClause>,
    /// Predicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<ConversationDetailQueryPredicate>,
}

/// `PagingSpec` {pageSize, pageNumber}.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagingSpec {
    /// Page size.
    pub page_size: u32,
    /// 1-based page number.
    pub page_number: u32,
}

/// `AggregationRange`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRange {
    /// Lower bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Upper bound (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
}

/// `AnalyticsQueryAggregation`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsQueryAggregation {
    /// termFrequency or numericRange.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AggregationType>,
    /// Dimension aggregated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// Metric aggregated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Number of buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Ranges for numericRange.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<AggregationRange>,
}

/// `ConversationQuery`: the body of `POST /api/v2/analytics/conversations/details/query`.
///
/// Evaluation, survey and resolution filters are carried as raw JSON: the pipeline
/// never uses them, and their predicates hold ids, not personal data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQuery {
    /// `start/end`.
    pub interval: Interval,
    /// Conversation-level filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversation_filters: Vec<ConversationDetailQueryFilter>,
    /// Segment-level filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_filters: Vec<SegmentDetailQueryFilter>,
    /// Evaluation filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluation_filters: Vec<serde_json::Value>,
    /// Survey filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub survey_filters: Vec<serde_json::Value>,
    /// Resolution filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolution_filters: Vec<serde_json::Value>,
    /// asc, desc, unordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<SortOrder>,
    /// Sort key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<OrderBy>,
    /// Aggregations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregations: Vec<AnalyticsQueryAggregation>,
    /// Page to fetch (Genesys default: size 25, page 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingSpec>,
}

impl ConversationQuery {
    /// A query over `interval` with no filters.
    pub fn new(interval: Interval) -> Self {
        Self {
            interval,
            conversation_filters: Vec::new(),
            segment_filters: Vec::new(),
            evaluation_filters: Vec::new(),
            survey_filters: Vec::new(),
            resolution_filters: Vec::new(),
            order: None,
            order_by: None,
            aggregations: Vec::new(),
            paging: None,
        }
    }

    /// Adds a segment filter.
    pub fn with_segment_filter(mut self, filter: SegmentDetailQueryFilter) -> Self {
        self.segment_filters.push(filter);
        self
    }

    /// Adds a conversation filter.
    pub fn with_conversation_filter(mut self, filter: ConversationDetailQueryFilter) -> Self {
        self.conversation_filters.push(filter);
        self
    }

    /// Sets the order.
    pub fn ordered(mut self, order_by: OrderBy, order: SortOrder) -> Self {
        self.order_by = Some(order_by);
        self.order = Some(order);
        self
    }

    /// Sets the page.
    pub fn with_paging(mut self, page_size: u32, page_number: u32) -> Self {
        self.paging = Some(PagingSpec {
            page_size,
            page_number,
        });
        self
    }
}

/// `AggregationResultEntry`. `value` can be an `ani` or the like.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationResultEntry {
    /// Count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Pii<String>>,
    /// Range lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Range upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
}

/// `AggregationResult`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationResult {
    /// termFrequency or numericRange.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AggregationType>,
    /// Dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// Metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Buckets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<AggregationResultEntry>,
}

/// `AnalyticsConversationSegment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversationSegment {
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_start: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_end: Option<DateTime<Utc>>,
    /// Kind of segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_type: Option<SegmentType>,
    /// Queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// Conference segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference: Option<bool>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_type: Option<String>,
    /// Error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// E-mail subject and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Pii<String>>,
    /// Wrap-up code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_code: Option<String>,
    /// Wrap-up note (free text written by an agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_note: Option<Pii<String>>,
    /// Source conversation of a transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_conversation_id: Option<String>,
    /// Destination conversation of a transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_conversation_id: Option<String>,
}

impl AnalyticsSession {
    /// The addresses a details query filters on (`ani`, `dnis`, `addressFrom`,
    /// `addressTo`), as stored (`tel:+E.164`, `+E.164`, an e-mail address, ...).
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        [&self.ani, &self.dnis, &self.address_from, &self.address_to]
            .into_iter()
            .flatten()
            .map(|v| v.expose().as_str())
    }
}

/// `AnalyticsSession`. Addresses (`ani`, `dnis`, `addressFrom`, ...) are [`Pii`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSession {
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// voice, chat, email, message, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// inbound / outbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Calling number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<Pii<String>>,
    /// Called number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis: Option<Pii<String>>,
    /// Called number of this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_dnis: Option<Pii<String>>,
    /// From address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_from: Option<Pii<String>>,
    /// To address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_to: Option<Pii<String>>,
    /// The other party's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_other: Option<Pii<String>>,
    /// This party's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_self: Option<Pii<String>>,
    /// Remote party name or number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Pii<String>>,
    /// Displayable remote name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_name_displayable: Option<Pii<String>>,
    /// Callback numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callback_numbers: Vec<Pii<String>>,
    /// Callback name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_user_name: Option<Pii<String>>,
    /// E-mail Cc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Pii<String>>,
    /// E-mail Bcc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<Pii<String>>,
    /// Outbound destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destination_addresses: Vec<Pii<String>>,
    /// Journey customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_customer_id: Option<Pii<String>>,
    /// Outbound dialer contact id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_contact_id: Option<Pii<String>>,
    /// Whether this session was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    /// Messaging provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Message type (sms, whatsapp, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    /// Peer session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<String>,
    /// Segments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<AnalyticsConversationSegment>,
}

/// `AnalyticsParticipant` (also `AnalyticsParticipantWithoutAttributes`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsParticipant {
    /// Participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_name: Option<Pii<String>>,
    /// customer, agent, acd, ivr, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Genesys user (agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Pii<String>>,
    /// External contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_contact_id: Option<Pii<String>>,
    /// External organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_organization_id: Option<String>,
    /// Team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Flag reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_reason: Option<String>,
    /// Screen recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_recording: Option<bool>,
    /// Sessions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<AnalyticsSession>,
    /// Participant attributes (free data; absent in query responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Pii<HashMap<String, String>>>,
}

/// `AnalyticsConversation` (also `AnalyticsConversationWithoutAttributes`, which the
/// query returns: the same minus participant attributes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversation {
    /// Conversation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_start: Option<DateTime<Utc>>,
    /// End (absent while ongoing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_end: Option<DateTime<Utc>>,
    /// Who started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_initiator: Option<Purpose>,
    /// Direction of the first leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_direction: Option<Direction>,
    /// Divisions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub division_ids: Vec<String>,
    /// External tag (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_tag: Option<Pii<String>>,
    /// Whether a customer took part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_participation: Option<bool>,
    /// Associated conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_conversation_id: Option<String>,
    /// Consult conversations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consultation_conversation_ids: Vec<String>,
    /// Lowest MOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_stats_min_conversation_mos: Option<f64>,
    /// Participants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<AnalyticsParticipant>,
}

impl AnalyticsConversation {
    /// Every address on its participants' sessions ([`AnalyticsSession::addresses`]),
    /// as stored.
    pub fn session_addresses(&self) -> impl Iterator<Item = &str> {
        self.participants
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(AnalyticsSession::addresses)
    }
}

/// `AnalyticsConversationWithoutAttributes`: the same shape.
pub type AnalyticsConversationWithoutAttributes = AnalyticsConversation;
/// `AnalyticsParticipantWithoutAttributes`: the same shape.
pub type AnalyticsParticipantWithoutAttributes = AnalyticsParticipant;

/// `AnalyticsConversationQueryResponse`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversationQueryResponse {
    /// Conversations on this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversations: Vec<AnalyticsConversation>,
    /// Aggregation results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregations: Vec<AggregationResult>,
    /// Total matching conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hits: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn interval_formats_as_iso_start_slash_end_and_refuses_reversed() {
        let i = Interval::new(t("2024-01-01T00:00:00Z"), t("2024-02-01T00:00:00Z")).unwrap();
        assert_eq!(
            i.to_string(),
            "2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z"
        );
        assert_eq!(i.to_string().parse::<Interval>().unwrap(), i);
        assert!(Interval::new(i.end(), i.start()).is_err());
        assert!("2024-01-01".parse::<Interval>().is_err());
    }

    #[test]
    fn ani_query_serialises_as_the_contract_shape() {
        let i = Interval::new(t("2024-01-01T00:00:00Z"), t("2024-01-02T00:00:00Z")).unwrap();
        let q = ConversationQuery::new(i)
            .with_segment_filter(SegmentDetailQueryFilter::ani_or_dnis("+353861234567"))
            .ordered(OrderBy::ConversationStart, SortOrder::Asc)
            .with_paging(100, 1);
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            serde_json::json!({
                "interval": "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
                "segmentFilters": [{"type": "or", "predicates": [
                    {"type": "dimension", "dimension": "ani", "operator": "matches", "value": "+353861234567"},
                    {"type": "dimension", "dimension": "dnis", "operator": "matches", "value": "+353861234567"}
                ]}],
                "order": "asc",
                "orderBy": "conversationStart",
                "paging": {"pageSize": 100, "pageNumber": 1}
            })
        );
        assert!(!format!("{q:?}").contains("353"));
    }

    #[test]
    fn segment_dimensions_beyond_ani_and_dnis_are_data() {
        assert_eq!(
            SegmentDimension::from("addressFrom"),
            SegmentDimension::AddressFrom
        );
        assert_eq!(SegmentDimension::SessionDnis.as_str(), "sessionDnis");
        assert_eq!(
            SegmentDimension::from("brandNewDimension"),
            SegmentDimension::Unknown("brandNewDimension".into())
        );
        assert_eq!(MediaType::from("unknown"), MediaType::UnknownMedia);
    }

    #[test]
    fn conversation_response_keeps_times_and_hides_addresses_in_debug() {
        let json = r#"{"conversations":[{"conversationId":"c1",
            "conversationStart":"2024-03-01T10:00:00.000Z","conversationEnd":"2024-03-01T10:05:00.000Z",
            "originatingDirection":"inbound","divisionIds":["d1"],
            "participants":[{"participantId":"p1","participantName":"Jane Doe","purpose":"customer",
              "sessions":[{"sessionId":"s1","mediaType":"voice","direction":"inbound",
                "ani":"tel:+353861234567","dnis":"tel:+35312345678","recording":true,
                "segments":[{"segmentStart":"2024-03-01T10:00:00.000Z","segmentEnd":"2024-03-01T10:05:00.000Z","segmentType":"interact"}]}]}]}],
            "totalHits":1,"futureField":true}"#;
        let r: AnalyticsConversationQueryResponse = serde_json::from_str(json).unwrap();
        let c = &r.conversations[0];
        assert_eq!(c.conversation_start, Some(t("2024-03-01T10:00:00Z")));
        let s = &c.participants[0].sessions[0];
        assert_eq!(s.ani.as_ref().unwrap().expose(), "tel:+353861234567");
        assert_eq!(s.segments[0].segment_type, Some(SegmentType::Interact));
        let printed = format!("{r:?}");
        assert!(
            !printed.contains("353") && !printed.contains("Jane"),
            "{printed}"
        );
    }
}
