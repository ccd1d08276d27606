//! Word lists and text templates for realistic demo records.

pub const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Amara", "Ana", "Andrei", "Arjun", "Ava", "Beatriz", "Ben", "Bilal", "Camila",
    "Carlos", "Chen", "Chloe", "Dan", "Daria", "David", "Diego", "Elena", "Eli", "Emma", "Erik",
    "Fatima", "Felix", "Grace", "Hana", "Hassan", "Ines", "Isaac", "Ivan", "Jade", "James", "Jana",
    "Javier", "Jin", "Jonas", "Julia", "Kai", "Kenji", "Laila", "Lars", "Leah", "Leo", "Lina",
    "Lucas", "Luis", "Maya", "Mateo", "Mei", "Mia", "Mohammed", "Nadia", "Nina", "Noah", "Nora",
    "Olga", "Omar", "Oscar", "Paula", "Pedro", "Priya", "Rafael", "Rania", "Ravi", "Rosa", "Ruth",
    "Sam", "Sara", "Sofia", "Sven", "Tariq", "Tess", "Theo", "Tomas", "Uma", "Vera", "Victor",
    "Wei", "Yara", "Yusuf", "Zoe", "Zara", "Hugo", "Ingrid",
];

pub const LAST_NAMES: &[&str] = &[
    "Adams", "Ahmed", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Castro", "Chen", "Cohen",
    "Costa", "Dubois", "Duarte", "Eriksson", "Fischer", "Garcia", "Gomez", "Gupta", "Hansen",
    "Hoffmann", "Ibrahim", "Ito", "Jansen", "Johnson", "Kaur", "Kim", "Kowalski", "Larsen", "Lee",
    "Lopez", "Martin", "Meyer", "Moreau", "Muller", "Nakamura", "Nguyen", "Novak", "Okafor",
    "Olsen", "Patel", "Perez", "Petrov", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Smith",
    "Sousa", "Tanaka", "Taylor", "Torres", "Varga", "Wagner", "Walker", "Wang", "Weber",
    "Williams", "Wong", "Yamamoto", "Yilmaz", "Zhang", "Ziegler",
];

pub const COMPANY_HEADS: &[&str] = &[
    "North",
    "Blue",
    "Silver",
    "Bright",
    "Iron",
    "Cedar",
    "Summit",
    "Harbor",
    "Quantum",
    "Nova",
    "Apex",
    "Crest",
    "Pioneer",
    "Vertex",
    "Atlas",
    "Orbit",
    "Granite",
    "Maple",
    "Falcon",
    "Lumen",
    "Helix",
    "Beacon",
    "Cobalt",
    "Evergreen",
    "Horizon",
    "Keystone",
    "Meridian",
    "Polar",
    "Redwood",
    "Sterling",
];

pub const COMPANY_TAILS: &[&str] = &[
    "wind", "peak", "field", "stone", "bridge", "works", "point", "gate", "line", "ridge", "wave",
    "forge", "path", "core", "light", "port", "view", "dale", "crest", "mark",
];

pub const INDUSTRY_SUFFIX: &[(&str, &[&str])] = &[
    (
        "technology",
        &["Software", "Systems", "Labs", "Technologies", "Cloud"],
    ),
    (
        "healthcare",
        &["Health", "Medical", "Clinics", "Care", "Biotech"],
    ),
    (
        "finance",
        &["Capital", "Financial", "Partners", "Bank", "Insurance"],
    ),
    (
        "manufacturing",
        &[
            "Manufacturing",
            "Industries",
            "Components",
            "Machines",
            "Fabrication",
        ],
    ),
    (
        "retail",
        &["Retail", "Stores", "Outfitters", "Market", "Goods"],
    ),
    (
        "education",
        &["Academy", "Learning", "University", "Schools", "Institute"],
    ),
    (
        "government",
        &[
            "County Services",
            "Municipal Authority",
            "Public Works",
            "Agency",
            "Council",
        ],
    ),
    (
        "nonprofit",
        &["Foundation", "Trust", "Alliance", "Charity", "Society"],
    ),
    (
        "logistics",
        &["Logistics", "Freight", "Shipping", "Transport", "Couriers"],
    ),
    (
        "hospitality",
        &["Hotels", "Resorts", "Hospitality", "Restaurants", "Travel"],
    ),
    (
        "media",
        &["Media", "Studios", "Publishing", "Broadcasting", "Press"],
    ),
    (
        "energy",
        &["Energy", "Power", "Solar", "Utilities", "Renewables"],
    ),
];

/// Industry mix with the skew a B2B software vendor sees.
pub const INDUSTRY_WEIGHTS: &[(&str, f64)] = &[
    ("technology", 26.0),
    ("healthcare", 12.0),
    ("finance", 12.0),
    ("manufacturing", 11.0),
    ("retail", 10.0),
    ("education", 7.0),
    ("government", 5.0),
    ("nonprofit", 4.0),
    ("logistics", 5.0),
    ("hospitality", 3.0),
    ("media", 3.0),
    ("energy", 2.0),
];

/// Job titles by seniority level (0 = individual contributor ... 4 = C-level).
pub const TITLES: &[(u8, &str, f64)] = &[
    (0, "Executive Assistant", 4.0),
    (0, "Sales Associate", 5.0),
    (0, "Analyst", 8.0),
    (0, "Software Engineer", 8.0),
    (0, "Account Executive", 5.0),
    (0, "Coordinator", 4.0),
    (1, "IT Manager", 7.0),
    (1, "Marketing Manager", 6.0),
    (1, "Procurement Manager", 5.0),
    (1, "Operations Manager", 6.0),
    (2, "Director of Engineering", 4.0),
    (2, "Head of Operations", 3.0),
    (2, "Director of Finance", 3.0),
    (2, "Head of Sales", 3.0),
    (3, "VP of Sales", 2.5),
    (3, "VP Engineering", 2.0),
    (3, "Vice President, Operations", 1.5),
    (4, "CEO", 1.5),
    (4, "CTO", 1.5),
    (4, "CFO", 1.0),
    (4, "Founder", 1.0),
    (4, "Owner", 0.8),
    (4, "President", 0.6),
];

/// Company sizes (employees) as ranges with weights.
pub const SIZES: &[((i64, i64), f64)] = &[
    ((1, 10), 18.0),
    ((11, 50), 24.0),
    ((51, 200), 22.0),
    ((201, 1000), 18.0),
    ((1001, 5000), 11.0),
    ((5001, 50000), 7.0),
];

pub const SOURCES: &[(&str, f64)] = &[
    ("website", 28.0),
    ("referral", 14.0),
    ("email_campaign", 16.0),
    ("social_media", 10.0),
    ("event", 9.0),
    ("cold_call", 8.0),
    ("partner", 7.0),
    ("advertising", 6.0),
    ("other", 2.0),
];

pub const PRODUCTS: &[&str] = &[
    "CRM rollout",
    "analytics platform",
    "data warehouse migration",
    "support desk",
    "billing integration",
    "marketing automation",
    "field service app",
    "security audit",
    "cloud migration",
    "customer portal",
    "inventory system",
    "HR suite",
    "sales enablement",
    "API gateway",
    "reporting dashboards",
];

pub const NEEDS: &[&str] = &[
    "Looking to replace a spreadsheet-based process for {p}.",
    "Evaluating vendors for a {p} across {n} teams.",
    "Interested in a {p}; current tool is hard to maintain.",
    "Asked for pricing on a {p} after the webinar.",
    "Exploring options for a {p} next year.",
    "Needs a {p} that integrates with their ERP.",
];

pub const URGENCY: &[&str] = &[
    " Need this live before the end of the quarter.",
    " Urgent: their current contract expires next month.",
    " They want to decide ASAP.",
    " Timeline is tight, go-live in six weeks.",
];

pub const BUDGET: &[&str] = &[
    " Budget approved for this fiscal year.",
    " Budget of about {b} has been allocated.",
    " Funding is approved pending a demo.",
    " Finance allocated {b} for the project.",
];

/// What a lead in active evaluation says (the current pipeline's qualified
/// leads, and some contacted ones): proposals, pilots, decisions.
pub const BUYING_SIGNALS: &[&str] = &[
    " They asked for a proposal and pricing for a pilot this month.",
    " Shortlisted us; decision expected after the demo next week.",
    " Requested a quote and a contract draft for the rollout.",
    " Ready to sign once legal reviews the contract.",
    " Trial went well; they want an implementation timeline.",
];

pub const HESITANT: &[&str] = &[
    " Still gathering requirements.",
    " No budget yet, just researching.",
    " Might revisit later in the year.",
];

pub const POSITIVE: &[&str] = &[
    "Great call today, they loved the demo and want to move forward!",
    "Customer is very happy with the pilot results, great feedback from the team.",
    "Thanks so much for the quick turnaround, this is exactly what we needed.",
    "Excellent meeting. The CFO was impressed and asked for the contract.",
    "They said the onboarding was smooth and the support team is fantastic.",
    "Really good progress, champion is enthusiastic and well connected.",
];

pub const NEUTRAL: &[&str] = &[
    "Sent the proposal and the security questionnaire.",
    "Scheduled a follow-up call for next Tuesday.",
    "They asked for the pricing sheet and a reference customer.",
    "Discussed the integration requirements with their IT team.",
    "Left a voicemail, will try again on Thursday.",
    "Shared the implementation timeline and the statement of work.",
];

pub const NEGATIVE: &[&str] = &[
    "Customer is frustrated with the delays and unhappy with the last release.",
    "They said the price is too high and the competitor is cheaper.",
    "Terrible experience with support, they are considering cancelling.",
    "The demo went badly, the integration failed in front of the team.",
    "No response for three weeks, the deal looks stalled and the champion left.",
    "They complained that the product is slow and confusing.",
];

pub const CALL_SUBJECTS: &[&str] = &[
    "Discovery call",
    "Follow-up call",
    "Pricing discussion",
    "Check-in",
];
pub const MEETING_SUBJECTS: &[&str] = &[
    "Product demo",
    "On-site workshop",
    "Executive briefing",
    "Contract review",
];
pub const EMAIL_SUBJECTS: &[&str] = &[
    "Re: proposal",
    "Next steps",
    "Pricing",
    "Quick question",
    "Re: demo",
];
