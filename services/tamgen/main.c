/* tam-gen — deterministic sample data: replies from Member States, donors,
 * projects with realistic earmarks, their funding ledger and a planning
 * context. The same seed and sizes always give byte-identical files; the
 * demo's data in config/samples/demo is this program's output for the default
 * arguments, and benchmarks use it with larger sizes.
 *
 *   tam-gen [--seed N] [--replies N] [--projects N] [--catalog DIR] --out DIR
 *
 * Writes DIR/donors.json, DIR/projects.json, DIR/ledger.json (arrays),
 * DIR/context.json and DIR/replies/NNNN-ISO-CAT.json. All data is fictional
 * although donors and countries are real names. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include "tam/catalog.h"
#include "tam/proto.h"

static uint64_t s_state;

static uint64_t s_rand(void) /* xorshift64*: fixed, portable sequence */
{
    s_state ^= s_state >> 12;
    s_state ^= s_state << 25;
    s_state ^= s_state >> 27;
    return s_state * 0x2545F4914F6CDD1DULL;
}

static int64_t s_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(s_rand() % (uint64_t)(hi - lo + 1));
}

static int64_t s_round(int64_t v, int64_t to)
{
    return (v + to / 2) / to * to;
}

/* ---- output: a struct → msgpack → JSON, fields in definition order ------- */

static json_t *s_json(const tam_schema_t *s, const void *obj)
{
    msgpack_sbuffer sb;
    tam_codec_err_t err;
    if (tam_encode_sbuf(s, obj, &sb, &err) != 0) {
        fprintf(stderr, "tam-gen: %s: %s: %s\n", s->name, err.path, err.message);
        exit(EX_SOFTWARE);
    }
    char *text = tam_msgpack_to_json(sb.data, sb.size, JSON_COMPACT);
    msgpack_sbuffer_destroy(&sb);
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    if (!j)
        exit(EX_SOFTWARE);
    return j;
}

static void s_write(const char *dir, const char *name, json_t *j)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        fprintf(stderr, "tam-gen: cannot write %s: %s\n", path, strerror(errno));
        exit(EX_CANTCREAT);
    }
    json_decref(j);
}

/* ---- vocabulary ------------------------------------------------------------ */

static const char *s_actor[4] = {
    "prison, probation and juvenile justice staff",
    "central authorities, prosecutors and liaison officers",
    "police, municipal crime prevention officers and victim services",
    "judges, prosecutors and integrity bodies",
};

/* Short phrases per modality code, for readable need texts. */
static const char *s_phrase(const char *modality)
{
    static const char *const map[][2] = {
        {"legislative", "Drafting and review of legislation"}, {"advisory", "Expert advisory services"},
        {"training", "Training"}, {"workshop", "Workshops"}, {"tools", "Manuals and practical tools"},
        {"assessment", "An assessment"}, {"institutional", "Institutional reform support"},
        {"equipment", "Equipment"}, {"information", "Information and awareness materials"},
        {"exchange", "Peer exchange"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], modality) == 0)
            return map[i][1];
    return "Assistance";
}

static const char *s_difficulty[4][3] = {
    {"Overcrowding in remand facilities prevents separation of categories of detainees.",
     "Alternatives to imprisonment exist in law but courts rarely use them.",
     "Children are held with adults for lack of dedicated facilities."},
    {"Requests for mutual legal assistance wait months for lack of a central authority.",
     "Extradition procedures are not aligned with the model treaty.",
     "Asset recovery cases stall because confiscated proceeds cannot be shared."},
    {"Local authorities have no data to target crime prevention.",
     "Victims are not informed of proceedings or of their rights.",
     "Shelters and support services for women survivors of violence are scarce."},
    {"Disciplinary procedures for police are slow and opaque.",
     "Judicial appointments lack transparent criteria.",
     "Asset declarations of public officials are not verified."},
};

static const char *s_practice[4][3] = {
    {"Paralegal advice desks in prisons reduced pre-trial detention.",
     "Community service orders supervised by probation volunteers.",
     "Family group conferences for young offenders."},
    {"An electronic case tracker shared with foreign central authorities.",
     "Regional network of prosecutors for informal cooperation before formal requests.",
     "Joint investigation teams with neighbouring States."},
    {"Municipal safety audits led by mayors with residents.",
     "A single victim support hotline linked to police stations.",
     "Child-friendly interview rooms in courts."},
    {"Random integrity testing of police units.",
     "Publication of all judgments online.",
     "Online asset declaration system with automated red flags."},
};

/* ---- donors, projects, ledger, context -------------------------------------- */

typedef struct {
    const char *id, *name;
    int kind;
    const char *iati;
} s_donor_t;

static const s_donor_t s_donors[] = {
    {"NOR", "Norway", TAM_E_donor_kind_government, ""},
    {"SWE", "Sweden", TAM_E_donor_kind_government, ""},
    {"DEU", "Germany", TAM_E_donor_kind_government, ""},
    {"GBR", "United Kingdom", TAM_E_donor_kind_government, ""},
    {"JPN", "Japan", TAM_E_donor_kind_government, ""},
    {"CAN", "Canada", TAM_E_donor_kind_government, ""},
    {"NLD", "Netherlands", TAM_E_donor_kind_government, ""},
    {"CHE", "Switzerland", TAM_E_donor_kind_government, ""},
    {"AUS", "Australia", TAM_E_donor_kind_government, ""},
    {"USA", "United States of America", TAM_E_donor_kind_government, ""},
    {"QAT", "Qatar", TAM_E_donor_kind_government, ""},
    {"EU", "European Union", TAM_E_donor_kind_multilateral, ""},
    {"UNPBF", "United Nations Peacebuilding Fund", TAM_E_donor_kind_multilateral, "XM-DAC-41141"},
    {"OJF", "Open Justice Foundation (fictional)", TAM_E_donor_kind_foundation, ""},
};
#define S_NDONORS (sizeof s_donors / sizeof s_donors[0])

/* Project templates: earmarks a real programme would carry. */
typedef struct {
    const char *id, *title;
    const char *groups, *regions, *countries, *categories, *standards, *modalities;
    bool post_conflict;
    int64_t max_per_need;
    const char *dac;
} s_proj_t;

static const s_proj_t s_projects[] = {
    {"AFR-PRISON", "Prison reform in Africa", "AFRICAN", "", "", "A", "A-SMR,A-BPTP,A-BODY", "", false, 250000, "15137"},
    {"SAHEL-JUST", "Criminal justice in the Sahel", "", "011", "", "A,D", "", "", false, 0, "15130"},
    {"CAM-VIOLENCE", "Violence prevention in Central America", "", "013", "", "C", "", "", false, 200000, "15160"},
    {"SEA-COOP", "International cooperation in South-East Asia", "", "035", "", "B", "", "", false, 0, "15130"},
    {"CASIA-JUV", "Juvenile justice in Central Asia", "", "143", "", "A", "A-BEIJING,A-RIYADH,A-HAVANA,A-CHILDCJS", "", false, 150000, "15137"},
    {"GLO-ANTICOR", "Global anti-corruption support", "", "", "", "D", "D-BRIBERY,D-PUBOFF,D-BANGALORE", "", false, 300000, "15113"},
    {"GLO-JUVENILE", "Children in contact with the law", "", "", "", "A,C", "A-BEIJING,A-RIYADH,A-HAVANA,A-CHILDCJS,C-CHILDVW", "", false, 0, "15137"},
    {"GLO-VICTIMS", "Victims' rights and services", "", "", "", "C", "C-VICTIMS,C-CHILDVW,C-VAW", "", false, 180000, "15180"},
    {"GLO-LEGIS", "Legislative assistance facility", "", "", "", "", "", "legislative,advisory", false, 120000, "15130"},
    {"GLO-TRAIN", "Criminal justice training programme", "", "", "", "", "", "training,workshop", false, 0, "15130"},
    {"PBF-RULEOFLAW", "Rule of law in post-conflict settings", "", "", "", "", "", "", true, 400000, "15220"},
    {"PC-PRISONS", "Prison support in mission settings", "", "", "", "A", "", "", true, 0, "15137"},
    {"PC-JUDIC", "Judicial independence after conflict", "", "", "", "D", "D-JUDIC,D-LAWYERS,D-PROSEC", "", true, 250000, "15130"},
    {"LAC-PREV", "Crime prevention in Latin America", "GRULAC", "", "", "C", "C-PREV,C-URBAN", "", false, 0, "15160"},
    {"EEG-MLA", "Mutual legal assistance in Eastern Europe", "EEG", "", "", "B", "B-MLA,B-EXTR,B-PROC", "", false, 100000, "15130"},
    {"APG-POLICE", "Police integrity in Asia and the Pacific", "APG", "", "", "D", "D-CCLEO,D-FORCE", "", false, 0, "15130"},
    {"GLO-ALTERN", "Alternatives to imprisonment", "", "", "", "A", "A-TOKYO,A-BANGKOK,A-RJ", "", false, 150000, "15137"},
    {"WAF-PROCEEDS", "Asset recovery in West Africa", "", "011", "", "B", "B-PROCEEDS,B-MLA", "", false, 0, "15113"},
    {"EAF-CUSTODY", "Custodial standards in Eastern Africa", "", "014", "", "A", "", "training,advisory,assessment", false, 200000, "15137"},
    {"GLO-DATA", "Crime and justice statistics", "", "", "", "", "", "assessment,tools,information", false, 80000, "15130"},
    {"GLO-EQUIP", "Justice infrastructure and equipment", "AFRICAN,APG", "", "", "", "", "equipment,institutional", false, 500000, "15130"},
    {"SAS-JUDIC", "Judicial integrity in South Asia", "", "034", "", "D", "", "", false, 0, "15130"},
    {"PAC-LEGIS", "Pacific legislative drafting", "", "009", "", "", "", "legislative", false, 60000, "15130"},
    {"MENA-COOP", "Cooperation in North Africa and the Middle East", "", "015,145", "", "B", "", "", false, 0, "15130"},
    {"CAR-VICTIMS", "Victim services in the Caribbean", "", "029", "", "C", "C-VICTIMS,C-VAW", "", false, 90000, "15180"},
    {"GLO-WOMEN", "Women in criminal justice", "", "", "", "A,C", "A-BANGKOK,C-VAW", "", false, 0, "15180"},
    {"HTI-JUSTICE", "Justice support in Haiti", "", "", "HTI", "", "", "", false, 0, "15130"},
    {"AFG-DETENTION", "Detention oversight in Afghanistan", "", "", "AFG", "A", "", "", false, 0, "15137"},
    {"GLO-DEATHPEN", "Death penalty safeguards", "", "", "", "A", "A-DPSAFE", "advisory,legislative", false, 50000, "15130"},
    {"GLO-CULTURAL", "Protection of cultural property", "", "", "", "B", "B-CULTURAL", "", false, 0, "15130"},
    {"GLO-EXEC", "Investigation of unlawful deaths", "", "", "", "D", "D-EXEC,D-FORCE", "training,tools", false, 70000, "15130"},
    {"SSD-RULEOFLAW", "Rule of law in South Sudan", "", "", "SSD", "", "", "", true, 0, "15220"},
};
#define S_NPROJ (sizeof s_projects / sizeof s_projects[0])

static tam_strs_t s_list(tam_arena_t *a, const char *csv)
{
    tam_strs_t v = {0, NULL};
    if (!csv || !*csv)
        return v;
    size_t n = 1;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    v.v = tam_arena_alloc(a, n * sizeof(char *));
    const char *s = csv;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        v.v[v.n++] = tam_arena_strndup(a, s, len);
        if (!e)
            break;
        s = e + 1;
    }
    return v;
}

static void s_gen_registry(const char *out, size_t nprojects, tam_arena_t *a)
{
    json_t *donors = json_array();
    for (size_t i = 0; i < S_NDONORS; i++) {
        tam_donor_t d = {0};
        d.id = (char *)s_donors[i].id;
        d.name = (char *)s_donors[i].name;
        d.kind = (tam_donor_kind_t)s_donors[i].kind;
        d.iati_id = *s_donors[i].iati ? (char *)s_donors[i].iati : NULL;
        json_array_append_new(donors, s_json(&tam_schema_donor, &d));
    }
    s_write(out, "donors.json", donors);

    json_t *projects = json_array(), *ledger = json_array();
    for (size_t i = 0; i < nprojects; i++) {
        const s_proj_t *t = &s_projects[i % S_NPROJ];
        tam_project_t p = {0};
        char id[40], title[200];
        if (i < S_NPROJ) {
            snprintf(id, sizeof id, "%s", t->id);
            snprintf(title, sizeof title, "%s", t->title);
        } else {
            snprintf(id, sizeof id, "%s-%zu", t->id, i / S_NPROJ + 1);
            snprintf(title, sizeof title, "%s, phase %zu", t->title, i / S_NPROJ + 1);
        }
        p.id = tam_arena_strndup(a, id, strlen(id));
        p.title = tam_arena_strndup(a, title, strlen(title));
        /* One to three distinct donors; post-conflict projects always include the PBF. */
        uint32_t nd = (uint32_t)s_range(1, 3);
        p.donors.v = tam_arena_alloc(a, 3 * sizeof *p.donors.v);
        size_t first = t->post_conflict ? 12 : (size_t)s_range(0, S_NDONORS - 1);
        for (uint32_t k = 0; k < nd; k++) {
            const char *did = s_donors[(first + k * 5) % S_NDONORS].id;
            bool dup = false;
            for (uint32_t m = 0; m < p.donors.n; m++)
                dup |= strcmp(p.donors.v[m].donor, did) == 0;
            if (!dup)
                p.donors.v[p.donors.n++].donor = (char *)did;
        }
        /* Shares: the lead donor 40..80% (all of it alone), the rest split. */
        if (p.donors.n == 1) {
            p.donors.v[0].percent = 100;
        } else {
            int64_t lead = s_range(40, 80), rest = 100 - lead;
            p.donors.v[0].percent = lead;
            if (p.donors.n == 2) {
                p.donors.v[1].percent = rest;
            } else {
                int64_t second = s_range(rest / 2, rest - 5);
                p.donors.v[1].percent = second;
                p.donors.v[2].percent = rest - second;
            }
        }
        p.budget = s_round(s_range(400000, 4000000), 50000);
        p.budget_status = s_rand() % 3 ? TAM_E_budget_status_committed : TAM_E_budget_status_indicative;
        p.start = tam_date_from_days(tam_date_days(20260101) + s_range(0, 300));
        p.end = tam_date_from_days(tam_date_days(p.start) + s_range(540, 1460));
        p.status = i % 11 == 7 ? TAM_E_project_status_pipeline : TAM_E_project_status_active;
        p.dac = (char *)t->dac;
        tam_earmarks_t *e = tam_arena_alloc(a, sizeof *e);
        e->groups = s_list(a, t->groups);
        e->regions = s_list(a, t->regions);
        e->countries = s_list(a, t->countries);
        e->categories = s_list(a, t->categories);
        e->standards = s_list(a, t->standards);
        e->modalities = s_list(a, t->modalities);
        e->post_conflict_only = t->post_conflict;
        e->max_per_need = t->max_per_need;
        p.earmarks = e;
        json_array_append_new(projects, s_json(&tam_schema_project, &p));

        /* Ledger: the pledge, then receipts (committed budgets mostly received). */
        tam_ledger_entry_t l = {0};
        l.project = p.id;
        l.kind = TAM_E_ledger_kind_pledge;
        l.amount = p.budget;
        l.date = p.start;
        l.note = "contribution agreement";
        json_array_append_new(ledger, s_json(&tam_schema_ledger_entry, &l));
        int64_t share = p.budget_status == TAM_E_budget_status_committed ? s_range(50, 100) : s_range(0, 30);
        int64_t received = s_round(p.budget * share / 100, 10000);
        if (received > 0) {
            l.kind = TAM_E_ledger_kind_receipt;
            l.amount = received;
            l.note = "first tranche";
            json_array_append_new(ledger, s_json(&tam_schema_ledger_entry, &l));
        }
    }
    s_write(out, "projects.json", projects);
    s_write(out, "ledger.json", ledger);

    /* Planning context: mission countries and their rule-of-law priorities. */
    static const struct {
        const char *country, *operation, *priorities;
    } missions[] = {
        {"CAF", "MINUSCA", "A-SMR,A-BPTP,D-JUDIC"},
        {"COD", "MONUSCO", "A-SMR,D-JUDIC,D-PROSEC,C-VAW"},
        {"SSD", "UNMISS", "A-SMR,A-CHILDCJS,D-JUDIC"},
        {"HTI", "BINUH", "A-BODY,D-JUDIC,D-CCLEO"},
        {"LBY", "UNSMIL", "A-BODY,D-FORCE,B-MLA"},
        {"AFG", "UNAMA", "A-BODY,A-BANGKOK,D-LAWYERS"},
    };
    tam_context_t c = {0};
    c.missions.n = sizeof missions / sizeof missions[0];
    c.missions.v = tam_arena_alloc(a, c.missions.n * sizeof *c.missions.v);
    for (uint32_t i = 0; i < c.missions.n; i++) {
        c.missions.v[i].country = (char *)missions[i].country;
        c.missions.v[i].operation = (char *)missions[i].operation;
        c.missions.v[i].priorities = s_list(a, missions[i].priorities);
        c.missions.v[i].valid_from = 20260101;
    }
    c.note = "Sample planning context (fictional priorities)";
    s_write(out, "context.json", s_json(&tam_schema_context, &c));
}

/* ---- replies --------------------------------------------------------------- */

/* Which States answer: every group represented, mission countries included. */
static size_t s_pick_states(const tam_catalog_t *cat, size_t want, const tam_country_t **out)
{
    static const char *must[] = {"CAF", "COD", "SSD", "HTI", "LBY", "AFG", "KEN", "NGA",
                                 "GTM", "HND", "PHL", "IDN", "KAZ", "UKR", "NOR", "CAN"};
    size_t n = 0, nc = tam_catalog_ncountries(cat);
    for (size_t i = 0; i < sizeof must / sizeof must[0] && n < want; i++) {
        const tam_country_t *c = tam_catalog_country(cat, must[i]);
        if (c)
            out[n++] = c;
    }
    /* Then a deterministic stride through the catalogue, weighted to groups
     * that declare most needs. */
    for (size_t step = 0; n < want && step < nc * 4; step++) {
        const tam_country_t *c = tam_catalog_country_at(cat, (step * 37 + 11) % nc);
        bool have = false;
        for (size_t k = 0; k < n; k++)
            have |= out[k] == c;
        if (!have && (strcmp(c->group, "WEOG") != 0 || s_rand() % 3 == 0))
            out[n++] = c;
    }
    return n;
}

static void s_gen_replies(const char *out, const tam_catalog_t *cat, size_t nreplies, tam_arena_t *a,
                          size_t *nneeds)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/replies", out);
    mkdir(dir, 0755);
    size_t nstates = nreplies > 16 ? nreplies * 15 / 16 : nreplies;
    const tam_country_t **states = calloc(nstates + 1, sizeof *states);
    nstates = s_pick_states(cat, nstates, states);
    size_t nmod = 0;
    while (tam_catalog_modality_at(cat, nmod))
        nmod++;
    static const int64_t cost_lo[] = {40, 30, 60, 20, 30, 40, 150, 80, 20, 25};
    static const int64_t cost_hi[] = {150, 120, 400, 90, 100, 150, 900, 500, 80, 120};
    *nneeds = 0;
    for (size_t r = 0; r < nreplies; r++) {
        tam_arena_reset(a);
        const tam_country_t *c = states[r % nstates];
        char cat_code = (char)('A' + (r * 7 + r / nstates) % 4);
        const tam_standard_t *stds[64];
        size_t ns = tam_catalog_standards_of(cat, cat_code, stds, 64);
        tam_reply_t rep = {0};
        tam_respondent_t who = {.type = TAM_E_respondent_type_member_state, .id = (char *)c->iso3};
        tam_instrument_t ins = {.category = tam_arena_strndup(a, &cat_code, 1), .version = 1};
        rep.respondent = &who;
        rep.instrument = &ins;
        rep.submitted = tam_date_from_days(tam_date_days(20260901) + s_range(0, 60));
        rep.completeness = s_range(40, 100);
        bool weog = strcmp(c->group, "WEOG") == 0, eeg = strcmp(c->group, "EEG") == 0;
        int need_pct = weog ? 5 : eeg ? 30 : c->ldc ? 70 : 55;
        rep.answers.v = tam_arena_alloc(a, ns * sizeof *rep.answers.v);
        rep.needs.v = tam_arena_alloc(a, ns * 2 * sizeof *rep.needs.v);
        rep.difficulties.v = tam_arena_alloc(a, ns * sizeof *rep.difficulties.v);
        rep.assistance.v = tam_arena_alloc(a, ns * sizeof *rep.assistance.v);
        rep.practices.v = tam_arena_alloc(a, ns * sizeof *rep.practices.v);
        rep.offers.v = tam_arena_alloc(a, ns * sizeof *rep.offers.v);
        int ci = cat_code - 'A';
        for (size_t s = 0; s < ns; s++) {
            int roll = (int)s_range(1, 100);
            int state = roll <= need_pct ? TAM_E_answer_state_need
                        : roll <= need_pct + 25 + (weog ? 40 : 0) ? TAM_E_answer_state_no_need
                                                                   : TAM_E_answer_state_unanswered;
            if (state == TAM_E_answer_state_unanswered && s_rand() % 2)
                continue; /* left out of the reply: unanswered too */
            rep.answers.v[rep.answers.n].standard = (char *)stds[s]->id;
            rep.answers.v[rep.answers.n].state = (tam_answer_state_t)state;
            rep.answers.n++;
            if (state == TAM_E_answer_state_need) {
                int k = 1 + (s_rand() % 4 == 0);
                for (int j = 0; j < k; j++) {
                    const tam_modality_t *m = tam_catalog_modality_at(cat, (size_t)s_range(0, (int64_t)nmod - 1));
                    size_t mi = 0;
                    while (tam_catalog_modality_at(cat, mi) != m)
                        mi++;
                    tam_need_in_t *n = &rep.needs.v[rep.needs.n++];
                    n->country = (char *)c->iso3;
                    n->standard = (char *)stds[s]->id;
                    n->modality = (char *)m->code;
                    n->priority = s_range(1, 5) + (s_rand() % 3 == 0);
                    if (n->priority > 5)
                        n->priority = 5;
                    n->cost = s_round(s_range(cost_lo[mi % 10], cost_hi[mi % 10]) * 1000, 5000);
                    n->start = tam_date_from_days(tam_date_days(20270101) + s_range(0, 270));
                    n->end = tam_date_from_days(tam_date_days(n->start) + s_range(180, 720));
                    char text[400];
                    snprintf(text, sizeof text, "%s on the %s for %s.", s_phrase(m->code), stds[s]->short_name,
                             s_actor[ci]);
                    n->text = tam_arena_strndup(a, text, strlen(text));
                    (*nneeds)++;
                }
                /* Two needs of one kind are told apart by a ref (the same
                 * identity twice is refused). */
                tam_need_in_t *n2 = &rep.needs.v[rep.needs.n - 1];
                if (k == 2 && strcmp(n2[-1].modality, n2->modality) == 0)
                    for (int j = 0; j < 2; j++) {
                        char ref[80];
                        int rl = snprintf(ref, sizeof ref, "%s/%s/%d", n2->standard, n2->modality, j + 1);
                        n2[j - 1].ref = tam_arena_strndup(a, ref, (size_t)rl);
                    }
                if (s_rand() % 2) {
                    tam_finding_t *f = &rep.difficulties.v[rep.difficulties.n++];
                    f->standard = (char *)stds[s]->id;
                    f->text = (char *)s_difficulty[ci][s_rand() % 3];
                    f = &rep.assistance.v[rep.assistance.n++];
                    f->standard = (char *)stds[s]->id;
                    char text[300];
                    snprintf(text, sizeof text, "%s for %s would help apply the %s.",
                             rep.needs.v[rep.needs.n - 1].modality[0] == 't' ? "A training-of-trainers programme"
                                                                              : "Expert advice",
                             s_actor[ci], stds[s]->short_name);
                    f->text = tam_arena_strndup(a, text, strlen(text));
                }
            } else if (state == TAM_E_answer_state_no_need && s_rand() % 3 == 0) {
                tam_finding_t *f = &rep.practices.v[rep.practices.n++];
                f->standard = (char *)stds[s]->id;
                f->text = (char *)s_practice[ci][s_rand() % 3];
                if (weog || eeg) {
                    tam_offer_t *o = &rep.offers.v[rep.offers.n++];
                    o->standard = (char *)stds[s]->id;
                    o->modality = s_rand() % 2 ? "exchange" : "training";
                    o->text = "Peer exchange with practitioners of our services.";
                }
            }
        }
        char name[64];
        snprintf(name, sizeof name, "replies/%04zu-%s-%c.json", r + 1, c->iso3, cat_code);
        s_write(out, name, s_json(&tam_schema_reply, &rep));
    }
    free(states);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},    {"replies", required_argument, NULL, 'r'},
        {"projects", required_argument, NULL, 'p'}, {"catalog", required_argument, NULL, 'C'},
        {"out", required_argument, NULL, 'o'},     {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
    uint64_t seed = 2004;
    size_t nreplies = 64, nprojects = S_NPROJ;
    const char *catalog = "config/catalog", *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "s:r:p:C:o:hV", opts, NULL)) != -1) {
        switch (c) {
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'r': nreplies = strtoull(optarg, NULL, 10); break;
        case 'p': nprojects = strtoull(optarg, NULL, 10); break;
        case 'C': catalog = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: tam-gen [--seed N] [--replies N] [--projects N] [--catalog DIR] --out DIR\n"
                   "Writes deterministic sample data (fictional) for tamatch: donors.json,\n"
                   "projects.json, ledger.json, context.json and replies/*.json.\n"
                   "Defaults: seed 2004, 64 replies, %zu projects, catalog config/catalog.\n", S_NPROJ);
            return EX_OK;
        case 'V': printf("tam-gen %s\n", TAM_VERSION); return EX_OK;
        default: return EX_USAGE;
        }
    }
    if (!out || nreplies < 1 || nreplies > 1000000 || nprojects < 1 || nprojects > 100000) {
        fprintf(stderr, "tam-gen: --out DIR is required; 1..1000000 replies, 1..100000 projects\n");
        return EX_USAGE;
    }
    s_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    char err[256];
    tam_catalog_t *cat = NULL;
    if (tam_catalog_load(&cat, catalog, err, sizeof err) != 0) {
        fprintf(stderr, "tam-gen: %s\n", err);
        return EX_CONFIG;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "tam-gen: cannot create %s: %s\n", out, strerror(errno));
        return EX_CANTCREAT;
    }
    tam_arena_t *a = tam_arena_new(0);
    s_gen_registry(out, nprojects, a);
    size_t nneeds = 0;
    s_gen_replies(out, cat, nreplies, a, &nneeds);
    fprintf(stderr, "tam-gen: %zu replies with %zu needs, %zu donors, %zu projects in %s\n", nreplies,
            nneeds, S_NDONORS, nprojects, out);
    tam_arena_destroy(&a);
    tam_catalog_destroy(&cat);
    return EX_OK;
}
