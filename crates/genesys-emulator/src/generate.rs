//! The deterministic generator of the bundled dataset (`data/dataset.json`) and its
//! persona guide (`data/PERSONAS.md`).
//!
//! Brightwater Energy, a fictional utility with a contact centre in Dublin and a UK
//! line, 2021-2026. Phone numbers come from fictional ranges (Irish mobiles
//! +353 8x, UK drama numbers +44 7700 900xxx, Ofcom's London 020 7946 0xxx), e-mail
//! addresses from `example.com`/`example.org`. Persona ids are derived from stable keys
//! so that changing the random background does not move them.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::dataset::{
    Conversation, Dataset, Direction, ExternalContact, FileState, MediaType, OAuthClient,
    Participant, Persona, PhoneTenure, Recording, User, UserState,
};
use crate::rng::{SeededRng, stable_uuid};

/// Seed of the committed dataset.
pub const DEFAULT_SEED: u64 = 2026;

/// Secret of the dataset's OAuth client.
pub const PIPELINE_CLIENT_SECRET: &str = "emulator-pipeline-secret";

const IE_LINE: &str = "+35315550100";
const UK_LINE: &str = "+442079460123";
const SMS_LINE: &str = "+35315550199";
const SUPPORT_EMAIL: &str = "support@brightwater.example.com";
const FIRST_DAY: (i32, u32, u32) = (2021, 1, 4);
const LAST_DAY: (i32, u32, u32) = (2026, 10, 30);
const RANDOM_CUSTOMERS: usize = 110;
const UNKNOWN_CALLERS: usize = 30;

const FIRST_NAMES: &[&str] = &[
    "Aisling", "Brian", "Caoimhe", "Darragh", "Eimear", "Fionn", "Gemma", "Hugh", "Isabel", "Jack",
    "Katie", "Lorcan", "Maeve", "Noel", "Orla", "Patrick", "Rebecca", "Shane", "Tara", "Una",
    "Adam", "Beth", "Chloe", "Daniel", "Ella", "Finn", "George", "Holly", "Imran", "Jessica",
    "Kamal", "Lucy", "Mohammed", "Nadia", "Owen", "Paula", "Ruairi", "Sarah", "Thomas", "Yusuf",
    "Zofia", "Andrei", "Lena", "Marco", "Ines",
];
const LAST_NAMES: &[&str] = &[
    "Ryan",
    "Byrne",
    "Kelly",
    "Walsh",
    "Smith",
    "Murphy",
    "McCarthy",
    "Kennedy",
    "Lynch",
    "Quinn",
    "Farrell",
    "Kavanagh",
    "Nolan",
    "Fitzgerald",
    "Hayes",
    "Dunne",
    "Reilly",
    "Carroll",
    "Brady",
    "Evans",
    "Patel",
    "Khan",
    "Jones",
    "Taylor",
    "Wilson",
    "Davies",
    "Roberts",
    "Wright",
    "Hughes",
    "Ahmed",
    "Silva",
    "Novak",
    "Popescu",
    "Rossi",
    "Moreau",
    "Fischer",
    "Kowalski",
    "Costa",
    "Ali",
    "Chen",
];
const QUEUES: &[&str] = &[
    "Customer Care",
    "Billing",
    "Moving Home",
    "Technical Support",
];

struct AgentSpec {
    key: &'static str,
    name: &'static str,
    email: &'static str,
    department: &'static str,
    title: &'static str,
    from: (i32, u32, u32),
    until: Option<(i32, u32, u32)>,
    state: UserState,
}

const AGENTS: &[AgentSpec] = &[
    AgentSpec {
        key: "niamh-doyle",
        name: "Niamh Doyle",
        email: "niamh.doyle@brightwater.example.com",
        department: "Customer Care",
        title: "Senior Agent",
        from: (2021, 1, 4),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "aoife-byrne",
        name: "Aoife Byrne",
        email: "aoife.byrne@brightwater.example.com",
        department: "Customer Care",
        title: "Agent",
        from: (2021, 1, 4),
        until: Some((2023, 8, 31)),
        state: UserState::Inactive,
    },
    AgentSpec {
        key: "ciaran-osuilleabhain",
        name: "Ciarán Ó Súilleabháin",
        email: "ciaran.osuilleabhain@brightwater.example.com",
        department: "Customer Care",
        title: "Agent",
        from: (2021, 1, 4),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "oliver-bennett",
        name: "Oliver Bennett",
        email: "oliver.bennett@brightwater.example.com",
        department: "UK Support",
        title: "Agent",
        from: (2021, 3, 1),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "fatima-rahman",
        name: "Fatima Rahman",
        email: "fatima.rahman@brightwater.example.com",
        department: "Billing",
        title: "Billing Specialist",
        from: (2021, 6, 1),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "sean-gallagher",
        name: "Seán Gallagher",
        email: "sean.gallagher@brightwater.example.com",
        department: "Billing",
        title: "Team Lead",
        from: (2021, 1, 4),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "emma-clarke",
        name: "Emma Clarke",
        email: "emma.clarke@brightwater.example.com",
        department: "Customer Care",
        title: "Agent",
        from: (2022, 2, 1),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "mateusz-kowalczyk",
        name: "Mateusz Kowalczyk",
        email: "mateusz.kowalczyk@brightwater.example.com",
        department: "Technical Support",
        title: "Support Engineer",
        from: (2022, 5, 3),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "hannah-price",
        name: "Hannah Price",
        email: "hannah.price@brightwater.example.com",
        department: "UK Support",
        title: "Agent",
        from: (2023, 1, 9),
        until: None,
        state: UserState::Active,
    },
    AgentSpec {
        key: "conor-brennan",
        name: "Conor Brennan",
        email: "conor.brennan@brightwater.example.com",
        department: "Customer Care",
        title: "Agent",
        from: (2021, 1, 4),
        until: Some((2022, 3, 31)),
        state: UserState::Deleted,
    },
    AgentSpec {
        key: "megan-hughes",
        name: "Megan Hughes",
        email: "megan.hughes@brightwater.example.com",
        department: "Billing",
        title: "Agent",
        from: (2021, 9, 1),
        until: Some((2024, 6, 28)),
        state: UserState::Inactive,
    },
];

/// (purpose, name, user id, external contact id, e-mail given)
type ParticipantSpec = (
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Who is on the customer side of a conversation.
#[derive(Clone)]
struct Caller {
    name: Option<String>,
    /// E.164
    phone: Option<String>,
    email: Option<String>,
    contact_id: Option<String>,
}

/// How a generated conversation should look.
struct Shape {
    start: DateTime<Utc>,
    media: MediaType,
    direction: Direction,
    /// Force a recording (personas whose tests need one).
    recorded: Option<bool>,
    /// Spell the caller's number as a SIP URI (some trunks deliver it so).
    sip_ani: bool,
    /// The e-mail spelling to use, when not the canonical one.
    email_spelling: Option<String>,
}

struct Generator {
    seed: u64,
    rng: SeededRng,
    as_of: DateTime<Utc>,
    users: Vec<User>,
    contacts: Vec<ExternalContact>,
    conversations: Vec<Conversation>,
    used_phones: Vec<String>,
}

/// Generates the dataset for `seed`. The same seed always gives the same dataset.
pub fn generate(seed: u64) -> Dataset {
    let mut g = Generator {
        seed,
        rng: SeededRng::new(seed),
        as_of: at(2026, 11, 1, 0, 0),
        users: Vec::new(),
        contacts: Vec::new(),
        conversations: Vec::new(),
        used_phones: Vec::new(),
    };
    g.users();
    let personas = g.personas();
    g.random_customers();
    g.unknown_callers();
    let personas = g.finish_personas(personas);
    g.conversations
        .sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));

    let protected_random = {
        let persona_convs: Vec<&String> = personas
            .iter()
            .flat_map(|p| p.customer_conversation_ids.iter())
            .collect();
        let candidates: Vec<&Conversation> = g
            .conversations
            .iter()
            .filter(|c| {
                !persona_convs.contains(&&c.id)
                    && !c.recordings.is_empty()
                    && c.start.format("%Y").to_string() == "2024"
            })
            .collect();
        candidates[g.rng.below(candidates.len() as u64) as usize]
            .id
            .clone()
    };
    let mut protected: Vec<String> = personas
        .iter()
        .flat_map(|p| p.protected_conversation_ids.iter().cloned())
        .collect();
    protected.push(protected_random);
    protected.sort();
    protected.dedup();

    Dataset {
        format_version: 1,
        description: format!(
            "Brightwater Energy (fictional) contact centre 2021-2026, generated by \
             `cargo run -p genesys-emulator --example generate-dataset` with seed {seed}. \
             All names, numbers and addresses are fictional."
        ),
        as_of: g.as_of,
        oauth_clients: vec![OAuthClient {
            client_id: stable_uuid(seed, "oauth-client:pipeline"),
            client_secret: PIPELINE_CLIENT_SECRET.into(),
            name: "gdpr-erasure pipeline".into(),
            access_token_validity_seconds: 86_400,
        }],
        users: g.users,
        external_contacts: g.contacts,
        conversations: g.conversations,
        deletion_protected_conversation_ids: protected,
        personas,
    }
}

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("generator dates are valid constants")
}

fn day((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("generator dates are valid constants")
}

impl Generator {
    fn id(&self, key: &str) -> String {
        stable_uuid(self.seed, key)
    }

    fn users(&mut self) {
        for a in AGENTS {
            let version = match a.state {
                UserState::Active => 3 + self.rng.below(9),
                UserState::Inactive => 12 + self.rng.below(6),
                UserState::Deleted => 20 + self.rng.below(6),
            };
            self.users.push(User {
                profile: Default::default(),
                id: self.id(&format!("user:{}", a.key)),
                name: a.name.into(),
                email: a.email.into(),
                username: a.email.into(),
                department: Some(a.department.into()),
                title: Some(a.title.into()),
                version,
                state: a.state,
            });
        }
    }

    fn agent_index(&mut self, when: DateTime<Utc>, except: Option<usize>) -> usize {
        let date = when.date_naive();
        let on_duty: Vec<usize> = AGENTS
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                Some(*i) != except && day(a.from) <= date && a.until.is_none_or(|u| date <= day(u))
            })
            .map(|(i, _)| i)
            .collect();
        *self.rng.pick(&on_duty)
    }

    fn contact(
        &mut self,
        key: &str,
        first: &str,
        last: &str,
        phones: &[&str],
        emails: &[&str],
    ) -> String {
        let id = self.id(&format!("contact:{key}"));
        self.contacts.push(ExternalContact {
            id: id.clone(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            phone_numbers: phones.iter().map(|s| s.to_string()).collect(),
            email_addresses: emails.iter().map(|s| s.to_string()).collect(),
        });
        id
    }

    fn conversation(&mut self, key: &str, caller: &Caller, shape: Shape) -> String {
        let id = self.id(&format!("conv:{key}"));
        let duration = match shape.media {
            MediaType::Voice => Duration::seconds(self.rng.between(120, 1500)),
            MediaType::Chat => Duration::seconds(self.rng.between(300, 1800)),
            MediaType::Message => Duration::seconds(self.rng.between(180, 10_800)),
            MediaType::Email => Duration::seconds(self.rng.between(3600, 172_800)),
        };
        let start = shape.start;
        let end = start + duration;
        let queue = self.rng.pick(QUEUES).to_string();
        let first = self.agent_index(start, None);
        let transfer = shape.media == MediaType::Voice && self.rng.chance(0.12);
        let mut agents = vec![first];
        if transfer {
            agents.push(self.agent_index(start, Some(first)));
        }

        let line = if caller
            .phone
            .as_deref()
            .is_some_and(|p| p.starts_with("+44"))
        {
            UK_LINE
        } else {
            IE_LINE
        };
        let caller_tel = caller.phone.as_ref().map(|p| {
            if shape.sip_ani {
                format!("sip:{p}@trunk.brightwater.example.net")
            } else {
                format!("tel:{p}")
            }
        });
        let caller_email = shape
            .email_spelling
            .clone()
            .or_else(|| caller.email.clone());
        let inbound = shape.direction == Direction::Inbound;

        // The addresses every session of this conversation carries.
        let (ani, dnis, from, to) = match shape.media {
            MediaType::Voice => {
                let line_tel = format!("tel:{line}");
                if inbound {
                    (caller_tel.clone(), Some(line_tel), None, None)
                } else {
                    (Some(line_tel), caller_tel.clone(), None, None)
                }
            }
            MediaType::Message => {
                let p = caller.phone.clone();
                if inbound {
                    (None, None, p, Some(SMS_LINE.to_string()))
                } else {
                    (None, None, Some(SMS_LINE.to_string()), p)
                }
            }
            MediaType::Email => {
                if inbound {
                    (
                        None,
                        None,
                        caller_email.clone(),
                        Some(SUPPORT_EMAIL.to_string()),
                    )
                } else {
                    (
                        None,
                        None,
                        Some(SUPPORT_EMAIL.to_string()),
                        caller_email.clone(),
                    )
                }
            }
            MediaType::Chat => (None, None, None, None),
        };

        // Outbound voice calls show the dialled party as "external", as Genesys does
        // for agent-placed calls; everything else has a "customer".
        let customer_purpose = if shape.media == MediaType::Voice && !inbound {
            "external"
        } else {
            "customer"
        };
        let chat_email = if shape.media == MediaType::Chat {
            caller_email.clone()
        } else {
            None
        };
        // (purpose, name, user id, external contact id, e-mail given)
        let mut specs: Vec<ParticipantSpec> = vec![(
            customer_purpose,
            caller.name.clone(),
            None,
            caller.contact_id.clone(),
            chat_email,
        )];
        if inbound {
            specs.push(("acd", Some(queue), None, None, None));
        }
        for &a in &agents {
            let user = &self.users[a];
            specs.push((
                "agent",
                Some(user.name.clone()),
                Some(user.id.clone()),
                None,
                None,
            ));
        }
        let participants: Vec<Participant> = specs
            .into_iter()
            .enumerate()
            .map(
                |(n, (purpose, name, user_id, contact, email))| Participant {
                    id: self.id(&format!("conv:{key}:participant:{n}")),
                    session_id: self.id(&format!("conv:{key}:session:{n}")),
                    purpose: purpose.into(),
                    name,
                    user_id,
                    external_contact_id: contact,
                    ani: ani.clone(),
                    dnis: dnis.clone(),
                    address_from: from.clone(),
                    address_to: to.clone(),
                    email_address: email,
                    attributes: Default::default(),
                },
            )
            .collect();

        let recorded = shape.recorded.unwrap_or_else(|| self.rng.chance(0.88));
        let mut recordings = Vec::new();
        if recorded {
            let media = match shape.media {
                MediaType::Voice => "audio",
                MediaType::Email => "email",
                MediaType::Chat => "chat",
                MediaType::Message => "message",
            };
            let count = if shape.media == MediaType::Voice {
                agents.len()
            } else {
                1
            };
            let slice = duration / count as i32;
            for i in 0..count {
                let rs = start + slice * i as i32;
                let archive = rs + Duration::days(90);
                recordings.push(Recording {
                    id: self.id(&format!("conv:{key}:recording:{i}")),
                    media: media.into(),
                    start_time: rs,
                    end_time: rs + slice,
                    file_state: if archive <= self.as_of {
                        FileState::Archived
                    } else {
                        FileState::Available
                    },
                    archive_date: Some(archive),
                    delete_date: None,
                });
            }
        }

        self.conversations.push(Conversation {
            id: id.clone(),
            start,
            end,
            media_type: shape.media,
            direction: shape.direction,
            participants,
            recordings,
            survey: false,
        });
        id
    }

    fn persona_conversations(
        &mut self,
        key: &str,
        caller: &Caller,
        plan: &[(DateTime<Utc>, MediaType, Direction)],
        recorded: Option<bool>,
    ) -> Vec<String> {
        plan.iter()
            .enumerate()
            .map(|(i, (start, media, direction))| {
                self.conversation(
                    &format!("{key}:{i}"),
                    caller,
                    Shape {
                        start: *start,
                        media: *media,
                        direction: *direction,
                        recorded,
                        sip_ani: false,
                        email_spelling: None,
                    },
                )
            })
            .collect()
    }

    fn personas(&mut self) -> Vec<Persona> {
        use Direction::{Inbound as In, Outbound as Out};
        use MediaType::{Chat, Email, Message, Voice};
        let mut out = Vec::new();
        self.used_phones.extend(
            [
                "+353861234567",
                "+353872345678",
                "+447700900123",
                "+353853456789",
                "+353834567890",
                "+353869876543",
                "+353831122334",
            ]
            .map(String::from),
        );

        // (1) A mobile number recycled from Declan Murphy to Priya Nair in 2024.
        let number = "+353861234567";
        let declan_contact = self.contact(
            "declan-murphy",
            "Declan",
            "Murphy",
            &["+353 86 123 4567"],
            &["declan.murphy@example.com"],
        );
        let declan = Caller {
            name: Some("Declan Murphy".into()),
            phone: Some(number.into()),
            email: Some("declan.murphy@example.com".into()),
            contact_id: Some(declan_contact.clone()),
        };
        let mut declan_convs = Vec::new();
        let declan_plan = [
            (at(2021, 2, 15, 9, 42), Voice, In, false, None),
            (at(2021, 9, 3, 14, 5), Voice, In, false, None),
            (at(2022, 1, 20, 18, 31), Message, In, false, None),
            (at(2022, 6, 11, 11, 0), Voice, Out, false, None),
            (
                at(2022, 11, 29, 8, 12),
                Email,
                In,
                false,
                Some("Declan.Murphy@Example.com"),
            ),
            (at(2023, 4, 18, 16, 47), Voice, In, true, None),
            (at(2023, 10, 5, 10, 20), Voice, In, false, None),
        ];
        for (i, (start, media, direction, sip, spelling)) in declan_plan.into_iter().enumerate() {
            declan_convs.push(self.conversation(
                &format!("declan-murphy:{i}"),
                &declan,
                Shape {
                    start,
                    media,
                    direction,
                    recorded: Some(true),
                    sip_ani: sip,
                    email_spelling: spelling.map(String::from),
                },
            ));
        }
        out.push(Persona {
            key: "recycled-number-old-owner".into(),
            title: "Recycled number, first owner".into(),
            description: "Declan Murphy held +353 86 123 4567 until November 2023; the operator then gave the number to Priya Nair (persona recycled-number-new-owner). A GDPR_DELETE by this number also deletes Priya's later conversations. One of his calls (2023-04-18) arrived over a SIP trunk, so its ANI is spelled sip:+353861234567@trunk.brightwater.example.net; his CRM record spells the number +353 86 123 4567 and one e-mail arrived from Declan.Murphy@Example.com.".into(),
            name: "Declan Murphy".into(),
            phone_numbers: vec![PhoneTenure { number: number.into(), from: day((2019, 5, 1)), until: Some(day((2023, 11, 30))) }],
            email_addresses: vec!["declan.murphy@example.com".into()],
            user_id: None,
            external_contact_id: Some(declan_contact),
            customer_conversation_ids: declan_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![],
        });

        let priya_contact = self.contact(
            "priya-nair",
            "Priya",
            "Nair",
            &["00353861234567"],
            &["Priya.Nair@example.org"],
        );
        let priya = Caller {
            name: Some("Priya Nair".into()),
            phone: Some(number.into()),
            email: Some("priya.nair@example.org".into()),
            contact_id: Some(priya_contact.clone()),
        };
        let priya_convs = self.persona_conversations(
            "priya-nair",
            &priya,
            &[
                (at(2024, 2, 8, 12, 30), Voice, In),
                (at(2024, 7, 22, 9, 15), Voice, In),
                (at(2025, 1, 13, 19, 2), Chat, In),
                (at(2025, 5, 30, 15, 45), Voice, Out),
                (at(2025, 12, 2, 17, 10), Message, In),
                (at(2026, 8, 19, 10, 55), Voice, In),
            ],
            Some(true),
        );
        out.push(Persona {
            key: "recycled-number-new-owner".into(),
            title: "Recycled number, new owner".into(),
            description: "Priya Nair got +353 86 123 4567 in January 2024 (her CRM record spells it 00353861234567). Her conversations must survive Declan Murphy's erasure: the GDPR API cannot limit a delete to a date range.".into(),
            name: "Priya Nair".into(),
            phone_numbers: vec![PhoneTenure { number: number.into(), from: day((2024, 1, 15)), until: None }],
            email_addresses: vec!["priya.nair@example.org".into()],
            user_id: None,
            external_contact_id: Some(priya_contact),
            customer_conversation_ids: priya_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![],
        });

        // (2) A former agent, now inactive, who later called in as a customer.
        let aoife_user = self.id("user:aoife-byrne");
        let aoife_contact = self.contact(
            "aoife-byrne",
            "Aoife",
            "Byrne",
            &["+353 87 234 5678"],
            &["aoife.byrne.home@example.org"],
        );
        let aoife = Caller {
            name: Some("Aoife Byrne".into()),
            phone: Some("+353872345678".into()),
            email: Some("aoife.byrne.home@example.org".into()),
            contact_id: Some(aoife_contact.clone()),
        };
        let aoife_convs = self.persona_conversations(
            "aoife-byrne",
            &aoife,
            &[
                (at(2024, 5, 14, 13, 40), Voice, In),
                (at(2025, 3, 3, 9, 5), Email, In),
                (at(2026, 2, 10, 16, 20), Voice, In),
            ],
            Some(true),
        );
        out.push(Persona {
            key: "former-agent".into(),
            title: "Former agent who is also a customer".into(),
            description: "Aoife Byrne worked as an agent from January 2021 to August 2023 (user state inactive, work e-mail aoife.byrne@brightwater.example.com) and handled many conversations; since 2024 she calls in as a customer from her personal mobile and e-mail. The pipeline offboards her user (anonymise, deactivate, delete) as well as erasing her customer data.".into(),
            name: "Aoife Byrne".into(),
            phone_numbers: vec![PhoneTenure { number: "+353872345678".into(), from: day((2018, 2, 1)), until: None }],
            email_addresses: vec!["aoife.byrne.home@example.org".into(), "aoife.byrne@brightwater.example.com".into()],
            user_id: Some(aoife_user),
            external_contact_id: Some(aoife_contact),
            customer_conversation_ids: aoife_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![],
        });

        // (3) A customer with a conversation under deletion protection (legal hold).
        let tomasz_contact = self.contact(
            "tomasz-nowak",
            "Tomasz",
            "Nowak",
            &["+44 7700 900123"],
            &["tomasz.nowak@example.com"],
        );
        let tomasz = Caller {
            name: Some("Tomasz Nowak".into()),
            phone: Some("+447700900123".into()),
            email: Some("tomasz.nowak@example.com".into()),
            contact_id: Some(tomasz_contact.clone()),
        };
        let tomasz_convs = self.persona_conversations(
            "tomasz-nowak",
            &tomasz,
            &[
                (at(2023, 6, 7, 10, 10), Voice, In),
                (at(2024, 9, 16, 14, 35), Voice, In),
                (at(2025, 2, 14, 11, 25), Voice, In),
                (at(2025, 8, 25, 15, 0), Voice, Out),
            ],
            Some(true),
        );
        let held = tomasz_convs[2].clone();
        out.push(Persona {
            key: "legal-hold".into(),
            title: "Customer with a conversation under legal hold".into(),
            description: "Tomasz Nowak (UK) asks for erasure; his complaint call of 2025-02-14 is under recording deletion protection for a pending claim. That conversation must survive (Art. 17(3)(e)) and its recordings cannot be deleted while protected; the rest can go.".into(),
            name: "Tomasz Nowak".into(),
            phone_numbers: vec![PhoneTenure { number: "+447700900123".into(), from: day((2020, 9, 1)), until: None }],
            email_addresses: vec!["tomasz.nowak@example.com".into()],
            user_id: None,
            external_contact_id: Some(tomasz_contact),
            customer_conversation_ids: tomasz_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![held],
        });

        // (4) A customer reached by e-mail and by voice, with mixed e-mail spellings.
        let grace_contact = self.contact(
            "grace-oconnor",
            "Grace",
            "O'Connor",
            &["+353-85-345-6789"],
            &["Grace.OConnor@example.com"],
        );
        let grace = Caller {
            name: Some("Grace O'Connor".into()),
            phone: Some("+353853456789".into()),
            email: Some("grace.oconnor@example.com".into()),
            contact_id: Some(grace_contact.clone()),
        };
        let grace_plan = [
            (
                at(2022, 3, 9, 8, 55),
                Email,
                In,
                Some("Grace.OConnor@Example.com"),
            ),
            (at(2022, 3, 10, 11, 30), Email, Out, None),
            (at(2023, 7, 19, 17, 45), Voice, In, None),
            (
                at(2024, 11, 5, 20, 15),
                Chat,
                In,
                Some("GRACE.OCONNOR@EXAMPLE.COM"),
            ),
            (at(2025, 6, 23, 7, 50), Email, In, None),
            (at(2026, 1, 28, 12, 5), Voice, In, None),
        ];
        let mut grace_convs = Vec::new();
        for (i, (start, media, direction, spelling)) in grace_plan.into_iter().enumerate() {
            grace_convs.push(self.conversation(
                &format!("grace-oconnor:{i}"),
                &grace,
                Shape {
                    start,
                    media,
                    direction,
                    recorded: Some(true),
                    sip_ani: false,
                    email_spelling: spelling.map(String::from),
                },
            ));
        }
        out.push(Persona {
            key: "email-and-voice".into(),
            title: "Customer with e-mail and voice interactions".into(),
            description: "Grace O'Connor wrote e-mails (from Grace.OConnor@Example.com and grace.oconnor@example.com), chatted (giving GRACE.OCONNOR@EXAMPLE.COM) and called from +353 85 345 6789 (her CRM record: +353-85-345-6789). A subject with only her phone number misses her e-mails; e-mail matching is case-insensitive.".into(),
            name: "Grace O'Connor".into(),
            phone_numbers: vec![PhoneTenure { number: "+353853456789".into(), from: day((2015, 1, 1)), until: None }],
            email_addresses: vec!["grace.oconnor@example.com".into()],
            user_id: None,
            external_contact_id: Some(grace_contact),
            customer_conversation_ids: grace_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![],
        });

        // (5) The ordinary happy path.
        let liam_contact = self.contact(
            "liam-walsh",
            "Liam",
            "Walsh",
            &["0035383 456 7890"],
            &["liam.walsh@example.com"],
        );
        let liam = Caller {
            name: Some("Liam Walsh".into()),
            phone: Some("+353834567890".into()),
            email: Some("liam.walsh@example.com".into()),
            contact_id: Some(liam_contact.clone()),
        };
        let liam_convs = self.persona_conversations(
            "liam-walsh",
            &liam,
            &[
                (at(2025, 3, 12, 10, 15), Voice, In),
                (at(2025, 9, 30, 16, 40), Voice, In),
                (at(2026, 5, 6, 9, 30), Voice, In),
            ],
            Some(true),
        );
        out.push(Persona {
            key: "happy-path".into(),
            title: "Ordinary customer".into(),
            description: "Liam Walsh called three times from +353 83 456 7890, every call recorded. Note: another, unrelated customer is also called Liam Walsh (a different number), so erasing by name alone would hit him too.".into(),
            name: "Liam Walsh".into(),
            phone_numbers: vec![PhoneTenure { number: "+353834567890".into(), from: day((2016, 4, 1)), until: None }],
            email_addresses: vec!["liam.walsh@example.com".into()],
            user_id: None,
            external_contact_id: Some(liam_contact),
            customer_conversation_ids: liam_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![],
        });
        // The namesake: same name, different person.
        let namesake_contact = self.contact(
            "liam-walsh-namesake",
            "Liam",
            "Walsh",
            &["+353 83 112 2334"],
            &["lwalsh.cork@example.org"],
        );
        let namesake = Caller {
            name: Some("Liam Walsh".into()),
            phone: Some("+353831122334".into()),
            email: Some("lwalsh.cork@example.org".into()),
            contact_id: Some(namesake_contact),
        };
        self.persona_conversations(
            "liam-walsh-namesake",
            &namesake,
            &[
                (at(2022, 8, 17, 14, 20), Voice, In),
                (at(2024, 4, 2, 11, 45), Voice, In),
            ],
            None,
        );

        // (6) An active agent who is also a data subject.
        let niamh_user = self.id("user:niamh-doyle");
        let niamh_contact = self.contact(
            "niamh-doyle",
            "Niamh",
            "Doyle",
            &["+353 86 987 6543"],
            &["niamh.doyle.personal@example.org"],
        );
        let niamh = Caller {
            name: Some("Niamh Doyle".into()),
            phone: Some("+353869876543".into()),
            email: Some("niamh.doyle.personal@example.org".into()),
            contact_id: Some(niamh_contact.clone()),
        };
        let niamh_convs = self.persona_conversations(
            "niamh-doyle",
            &niamh,
            &[
                (at(2025, 4, 22, 12, 10), Voice, In),
                (at(2026, 3, 17, 18, 25), Message, In),
            ],
            Some(true),
        );
        out.push(Persona {
            key: "active-agent".into(),
            title: "Active agent who is also a data subject".into(),
            description: "Niamh Doyle is a current senior agent (user state active) who has been a customer too, from her personal mobile and e-mail. Her customer data may be erased, but her user must never be offboarded, and a GDPR request carrying her userId matches every conversation she handled as an agent.".into(),
            name: "Niamh Doyle".into(),
            phone_numbers: vec![PhoneTenure { number: "+353869876543".into(), from: day((2012, 6, 1)), until: None }],
            email_addresses: vec!["niamh.doyle.personal@example.org".into()],
            user_id: Some(niamh_user),
            external_contact_id: Some(niamh_contact),
            customer_conversation_ids: niamh_convs,
            agent_conversation_ids: vec![],
            protected_conversation_ids: vec![],
        });
        out
    }

    fn finish_personas(&self, mut personas: Vec<Persona>) -> Vec<Persona> {
        for p in &mut personas {
            if let Some(uid) = &p.user_id {
                let mut ids: Vec<(DateTime<Utc>, String)> = self
                    .conversations
                    .iter()
                    .filter(|c| {
                        c.participants.iter().any(|x| {
                            x.purpose == "agent" && x.user_id.as_deref() == Some(uid.as_str())
                        })
                    })
                    .map(|c| (c.start, c.id.clone()))
                    .collect();
                ids.sort();
                p.agent_conversation_ids = ids.into_iter().map(|(_, id)| id).collect();
            }
        }
        personas
    }

    fn fresh_phone(&mut self) -> String {
        loop {
            let p = if self.rng.chance(0.7) {
                let prefix = self.rng.pick(&["83", "85", "86", "87", "89"]).to_string();
                format!("+353{prefix}{:07}", self.rng.below(10_000_000))
            } else {
                format!("+447700900{:03}", self.rng.below(1000))
            };
            if !self.used_phones.contains(&p) {
                self.used_phones.push(p.clone());
                return p;
            }
        }
    }

    /// A spelling of an E.164 number as a CRM user might have typed it.
    fn messy_spelling(&mut self, e164: &str) -> String {
        let digits = &e164[1..];
        let (cc, rest) = if e164.starts_with("+353") {
            ("353", &digits[3..])
        } else {
            ("44", &digits[2..])
        };
        match self.rng.below(5) {
            0 => e164.to_string(),
            1 => format!("+{cc} {} {} {}", &rest[..2], &rest[2..5], &rest[5..]),
            2 => format!("00{cc}{rest}"),
            3 => format!("+{cc}-{}-{}", &rest[..2], &rest[2..]),
            _ => format!("(+{cc}) {} {}", &rest[..4], &rest[4..]),
        }
    }

    fn random_customers(&mut self) {
        let first_day = at(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2, 0, 0);
        let last_day = at(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2, 0, 0);
        let span_days = (last_day - first_day).num_days();
        for n in 0..RANDOM_CUSTOMERS {
            let first = self.rng.pick(FIRST_NAMES).to_string();
            let last = self.rng.pick(LAST_NAMES).to_string();
            let has_phone = self.rng.chance(0.9);
            let phone = has_phone.then(|| self.fresh_phone());
            let email = (!has_phone || self.rng.chance(0.65)).then(|| {
                let domain = if self.rng.chance(0.5) {
                    "example.com"
                } else {
                    "example.org"
                };
                format!(
                    "{}.{}{}@{domain}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    n
                )
            });
            let contact_id = if self.rng.chance(0.85) {
                let phones: Vec<String> = phone.iter().map(|p| self.messy_spelling(p)).collect();
                let phones: Vec<&str> = phones.iter().map(String::as_str).collect();
                let emails: Vec<&str> = email.iter().map(String::as_str).collect();
                Some(self.contact(&format!("random:{n}"), &first, &last, &phones, &emails))
            } else {
                None
            };
            let caller = Caller {
                name: Some(format!("{first} {last}")),
                phone,
                email,
                contact_id,
            };
            let active_from = self.rng.between(0, span_days - 30);
            let active_len = self.rng.between(30, span_days - active_from);
            let count = 1 + self.rng.below(4) as usize;
            let mut days: Vec<i64> = (0..count)
                .map(|_| active_from + self.rng.between(0, active_len))
                .collect();
            days.sort();
            for (i, d) in days.into_iter().enumerate() {
                let start = first_day
                    + Duration::days(d)
                    + Duration::minutes(self.rng.between(8 * 60, 19 * 60 + 30));
                let mut media = match self.rng.below(100) {
                    0..55 => MediaType::Voice,
                    55..75 => MediaType::Email,
                    75..90 => MediaType::Message,
                    _ => MediaType::Chat,
                };
                if caller.email.is_none() && media == MediaType::Email {
                    media = MediaType::Voice;
                }
                if caller.phone.is_none() && matches!(media, MediaType::Voice | MediaType::Message)
                {
                    media = MediaType::Email;
                }
                let direction = match media {
                    MediaType::Chat => Direction::Inbound,
                    _ if self.rng.chance(0.85) => Direction::Inbound,
                    _ => Direction::Outbound,
                };
                let sip_ani = media == MediaType::Voice && self.rng.chance(0.05);
                self.conversation(
                    &format!("random:{n}:{i}"),
                    &caller,
                    Shape {
                        start,
                        media,
                        direction,
                        recorded: None,
                        sip_ani,
                        email_spelling: None,
                    },
                );
            }
        }
    }

    fn unknown_callers(&mut self) {
        let first_day = at(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2, 0, 0);
        let last_day = at(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2, 0, 0);
        let span_days = (last_day - first_day).num_days();
        for n in 0..UNKNOWN_CALLERS {
            let phone = self.fresh_phone();
            let caller = Caller {
                name: None,
                phone: Some(phone),
                email: None,
                contact_id: None,
            };
            let start = first_day
                + Duration::days(self.rng.between(0, span_days))
                + Duration::minutes(self.rng.between(8 * 60, 20 * 60));
            let media = if self.rng.chance(0.8) {
                MediaType::Voice
            } else {
                MediaType::Message
            };
            self.conversation(
                &format!("unknown:{n}"),
                &caller,
                Shape {
                    start,
                    media,
                    direction: Direction::Inbound,
                    recorded: None,
                    sip_ani: false,
                    email_spelling: None,
                },
            );
        }
    }
}

/// The persona guide (`data/PERSONAS.md`) for a dataset.
pub fn personas_markdown(ds: &Dataset) -> String {
    let mut s = String::new();
    s.push_str("# Personas of the bundled dataset\n\n");
    s.push_str("Generated with the dataset by `cargo run -p genesys-emulator --example generate-dataset`;\n");
    s.push_str(
        "do not edit by hand (a test checks this file against the generator). All people,\n",
    );
    s.push_str("numbers and addresses are fictional. In Rust: `Dataset::bundled().persona(\"<key>\")`.\n\n");
    let client = &ds.oauth_clients[0];
    s.push_str(&format!(
        "Dataset as of {}. OAuth client: id `{}`, secret `{}`.\n\n",
        ds.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        client.client_id,
        client.client_secret
    ));
    for p in &ds.personas {
        s.push_str(&format!(
            "## `{}`: {}\n\n{}\n\n",
            p.key, p.title, p.description
        ));
        s.push_str(&format!("- name: {}\n", p.name));
        for t in &p.phone_numbers {
            let until = t
                .until
                .map(|u| u.to_string())
                .unwrap_or_else(|| "now".into());
            s.push_str(&format!(
                "- phone: `{}` ({} to {})\n",
                t.number, t.from, until
            ));
        }
        for e in &p.email_addresses {
            s.push_str(&format!("- e-mail: `{e}`\n"));
        }
        if let Some(u) = &p.user_id {
            let state = ds
                .users
                .iter()
                .find(|x| &x.id == u)
                .map(|x| x.state.as_str())
                .unwrap_or("?");
            s.push_str(&format!("- Genesys user id: `{u}` (state {state})\n"));
        }
        if let Some(c) = &p.external_contact_id {
            s.push_str(&format!("- external contact id: `{c}`\n"));
        }
        if !p.customer_conversation_ids.is_empty() {
            s.push_str("- conversations as a customer:\n");
            for id in &p.customer_conversation_ids {
                if let Some(c) = ds.conversations.iter().find(|c| &c.id == id) {
                    let protected = if p.protected_conversation_ids.contains(id) {
                        ", **deletion protected**"
                    } else {
                        ""
                    };
                    s.push_str(&format!(
                        "  - `{id}` {} {} {}, {} recording(s){protected}\n",
                        c.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        c.media_type.as_str(),
                        c.direction.as_str(),
                        c.recordings.len()
                    ));
                }
            }
        }
        if !p.agent_conversation_ids.is_empty() {
            s.push_str(&format!(
                "- handled {} conversations as an agent (first `{}`, last `{}`)\n",
                p.agent_conversation_ids.len(),
                p.agent_conversation_ids[0],
                p.agent_conversation_ids[p.agent_conversation_ids.len() - 1]
            ));
        }
        s.push('\n');
    }
    let persona_protected: Vec<&String> = ds
        .personas
        .iter()
        .flat_map(|p| &p.protected_conversation_ids)
        .collect();
    let others: Vec<&String> = ds
        .deletion_protected_conversation_ids
        .iter()
        .filter(|id| !persona_protected.contains(id))
        .collect();
    s.push_str("## Other facts tests rely on\n\n");
    for id in others {
        s.push_str(&format!(
            "- conversation `{id}` (an unrelated customer's) is also under deletion protection\n"
        ));
    }
    s.push_str(&format!(
        "- {} users, {} external contacts, {} conversations, {} recordings\n",
        ds.users.len(),
        ds.external_contacts.len(),
        ds.conversations.len(),
        ds.conversations
            .iter()
            .map(|c| c.recordings.len())
            .sum::<usize>()
    ));
    s.push_str("- voice numbers appear in conversations as `tel:+<E.164>` (a few as `sip:+<E.164>@trunk.brightwater.example.net`), message numbers as `+<E.164>`; CRM records spell numbers in mixed formats\n");
    s.push_str(
        "- outbound voice calls show the called party with purpose `external`, not `customer`\n",
    );
    s
}
