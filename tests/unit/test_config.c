/* Job files and overrides: typed values, defaults, families, and an error
 * naming file and line for every kind of mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "spikebridge/config.h"

#include "config_test_keys.h"

/* Parses text as "job.ini" and expects success. */
static sb_config *parse_ok(const char *text, int n, char *const *ov)
{
    sb_config *cfg = NULL;
    sb_status st = sb_config_parse(&cfg, keys, nkeys, "job.ini", text, n, ov);
    if (st != SB_OK)
        fprintf(stderr, "\nunexpected error: %s\n", sb_last_error());
    CU_ASSERT_EQUAL(st, SB_OK);
    CU_ASSERT_PTR_NOT_NULL(cfg);
    return cfg;
}

/* Parses text as "job.ini", expects SB_ECONFIG and no config, and returns
 * the message. */
static const char *parse_err(const char *text, int n, char *const *ov)
{
    sb_config *cfg = (sb_config *)&cfg;
    sb_clear_error();
    sb_status st = sb_config_parse(&cfg, keys, nkeys, "job.ini", text, n, ov);
    CU_ASSERT_EQUAL(st, SB_ECONFIG);
    CU_ASSERT_PTR_NULL(cfg);
    if (st == SB_OK)
        sb_config_free(cfg);
    return sb_last_error();
}

#define EXPECT_ERR(text, msg) CU_ASSERT_STRING_EQUAL(parse_err(text, 0, NULL), msg)
#define EXPECT_OVR_ERR(text, ov, msg)                                                              \
    do {                                                                                           \
        char *ovs_[] = {ov};                                                                       \
        CU_ASSERT_STRING_EQUAL(parse_err(text, 1, ovs_), msg);                                     \
    } while (0)

static const char *const good_job = "; a whole-line comment\n"
                                    "# another one\n"
                                    "[job]\n"
                                    "task = encode   ; inline comment\n"
                                    "seed=42\n"
                                    "verbose = YES\n"
                                    "\n"
                                    "[encode]\n"
                                    "  encoders = integrate , poisson\n"
                                    "max_rate: 100 ; key: value works too\n"
                                    "dt = 2.5e-1\n"
                                    "tags = a, b,a\n";

static void test_valid_file(void)
{
    sb_config *cfg = parse_ok(good_job, 0, NULL);
    if (!cfg)
        return;
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "job", "task"), "encode");
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "job", "seed"), 42);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "job", "seed"), 42.0, 0);
    CU_ASSERT_EQUAL(sb_cfg_bool(cfg, "job", "verbose"), 1);
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "job", "output"), "");
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "data", "dir"), "data/mnist");
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "data", "train"), 0);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "max_rate"), 100.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "dt"), 0.25, 0);
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "encode", "split"), "test");
    const char *const *items;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "encode", "encoders", &items), 2);
    CU_ASSERT_STRING_EQUAL(items[0], "integrate");
    CU_ASSERT_STRING_EQUAL(items[1], "poisson");
    /* A free list may repeat items. */
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "encode", "tags", &items), 3);
    CU_ASSERT_STRING_EQUAL(items[2], "a");
    CU_ASSERT_EQUAL(sb_cfg_is_set(cfg, "job", "seed"), 1);
    CU_ASSERT_EQUAL(sb_cfg_is_set(cfg, "encode", "split"), 0);
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "job", "task"), "job.ini:4");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "encoders"), "job.ini:9");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "max_rate"), "job.ini:10");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "split"), "default");
    sb_config_free(cfg);
}

static void test_typed_values(void)
{
    sb_config *cfg = parse_ok("[job]\ntask=train\nseed = +7\nverbose = Off\n[data]\n"
                              "train = 1000000000\n[encode]\nencoders =\nmax_rate = 0x10\n"
                              "dt = 1e3\n",
                              0, NULL);
    if (!cfg)
        return;
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "job", "seed"), 7);
    CU_ASSERT_EQUAL(sb_cfg_bool(cfg, "job", "verbose"), 0);
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "data", "train"), 1000000000);
    const char *const *items = NULL;
    CU_ASSERT_EQUAL(sb_cfg_list(cfg, "encode", "encoders", &items), 0);
    CU_ASSERT_PTR_NOT_NULL(items);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "max_rate"), 16.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "dt"), 1000.0, 0);
    sb_config_free(cfg);
    static const char *const truth[][2] = {{"true", "1"},  {"TRUE", "1"}, {"on", "1"},  {"1", "1"},
                                           {"False", "0"}, {"no", "0"},   {"OFF", "0"}, {"0", "0"}};
    for (size_t i = 0; i < sizeof truth / sizeof truth[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "[job]\ntask=encode\nverbose=%s\n", truth[i][0]);
        cfg = parse_ok(text, 0, NULL);
        if (cfg)
            CU_ASSERT_EQUAL(sb_cfg_bool(cfg, "job", "verbose"), truth[i][1][0] == '1');
        sb_config_free(cfg);
    }
}

static void test_crlf_and_bom(void)
{
    sb_config *cfg =
        parse_ok("\xEF\xBB\xBF[job]\r\ntask = train\r\nseed = 3 ; c\r\n\r\n[encode]\r\n"
                 "encoders = latency\r\n",
                 0, NULL);
    if (!cfg)
        return;
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "job", "task"), "train");
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "job", "seed"), 3);
    const char *const *items;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "encode", "encoders", &items), 1);
    CU_ASSERT_STRING_EQUAL(items[0], "latency");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "encoders"), "job.ini:6");
    sb_config_free(cfg);
    EXPECT_ERR("[job]\r\ntask = encode\r\nseed = x\r\n",
               "job.ini:3: [job] seed = x: not a whole number");
}

static void test_unknown_section(void)
{
    EXPECT_ERR("[job]\ntask = encode\n[encod]\nx = 1\n",
               "job.ini:3: unknown section [encod] (did you mean [encode]?)");
    /* Named at its header even when no key follows. */
    EXPECT_ERR("[job]\ntask = encode\n\n[jobb]\n",
               "job.ini:4: unknown section [jobb] (did you mean [job]?)");
    EXPECT_ERR("[job]\ntask = encode\n[network]\n", "job.ini:3: unknown section [network]");
    EXPECT_ERR("[job]\ntask = encode\n[]\n", "job.ini:3: unknown section []");
    EXPECT_ERR("[popluation.exc]\n", "job.ini:1: unknown section [popluation.exc] (did you mean "
                                     "[population.exc]?)");
    EXPECT_ERR("[job]\n[population]\n", "job.ini:2: unknown section [population] (did you mean "
                                        "[population.NAME]?)");
    EXPECT_ERR("[job]\ntask=encode\n[population.a-b]\n",
               "job.ini:3: bad section name [population.a-b]: a [population.NAME] section needs a "
               "NAME of letters, digits and '_'");
    EXPECT_ERR("[population.]\n", "job.ini:1: bad section name [population.]: a [population.NAME] "
                                  "section needs a NAME of letters, digits and '_'");
}

static void test_unknown_key(void)
{
    EXPECT_ERR("[job]\ntask = encode\n[encode]\nmax_rat = 10\n",
               "job.ini:4: [encode] unknown key 'max_rat' (did you mean 'max_rate'?)");
    EXPECT_ERR("[job]\ntask = encode\n[encode]\nmax_rtae = 10\n",
               "job.ini:4: [encode] unknown key 'max_rtae' (did you mean 'max_rate'?)");
    EXPECT_ERR("[job]\ntask = encode\n[encode]\nfrobnicate = 10\n",
               "job.ini:4: [encode] unknown key 'frobnicate'");
    /* Short names suggest nothing far-fetched. */
    EXPECT_ERR("[job]\ntask = encode\n[encode]\nx = 1\n", "job.ini:4: [encode] unknown key 'x'");
    EXPECT_ERR("[population.exc]\nlabel = e\ntau = 3\n",
               "job.ini:3: [population.exc] unknown key 'tau' (did you mean 'tau_m'?)");
    EXPECT_ERR("[population.exc]\nlabel = e\ntaum = 3\n",
               "job.ini:3: [population.exc] unknown key 'taum' (did you mean 'tau_m'?)");
    EXPECT_ERR("[job]\n= 3\n", "job.ini:2: [job] unknown key ''");
}

static void test_duplicate_and_outside(void)
{
    EXPECT_ERR("[job]\ntask = encode\nseed = 1\n\nseed = 2\n",
               "job.ini:5: [job] key 'seed' is set twice (first on line 3)");
    /* Also across two blocks of one section. */
    EXPECT_ERR("[job]\ntask = encode\n[encode]\ndt=1\n[job]\ntask = train\n",
               "job.ini:6: [job] key 'task' is set twice (first on line 2)");
    EXPECT_ERR("; top\nseed = 1\n[job]\ntask = encode\n",
               "job.ini:2: key 'seed' is outside any section (put a [section] line before it)");
}

static void test_type_errors(void)
{
    const char *head = "[job]\ntask = encode\n";
    static const char *const cases[][2] = {
        {"[job]\nseed = abc\n", "job.ini:4: [job] seed = abc: not a whole number"},
        {"[job]\nseed = 12abc\n", "job.ini:4: [job] seed = 12abc: not a whole number"},
        {"[job]\nseed = 0x10\n", "job.ini:4: [job] seed = 0x10: not a whole number"},
        {"[job]\nseed = 1.5\n", "job.ini:4: [job] seed = 1.5: not a whole number"},
        {"[job]\nseed =\n", "job.ini:4: [job] seed = : not a whole number"},
        {"[job]\nseed = 99999999999999999999\n", "job.ini:4: [job] seed = 99999999999999999999: "
                                                 "outside the range of a 64-bit whole number"},
        {"[job]\nseed = -1\n", "job.ini:4: [job] seed = -1: below the minimum 0"},
        {"[job]\nseed = 4294967296\n",
         "job.ini:4: [job] seed = 4294967296: above the maximum 4294967295"},
        {"[job]\nverbose = maybe\n",
         "job.ini:4: [job] verbose = maybe: not a boolean (true/false, yes/no, on/off or 1/0)"},
        {"[encode]\nmax_rate = -5\n", "job.ini:4: [encode] max_rate = -5: below the minimum 0 Hz"},
        {"[encode]\nmax_rate = 2e6\n",
         "job.ini:4: [encode] max_rate = 2e6: above the maximum 1e+06 Hz"},
        {"[encode]\ndt = 0\n", "job.ini:4: [encode] dt = 0: below the minimum 0.0001 ms"},
        {"[encode]\nmax_rate = fast\n", "job.ini:4: [encode] max_rate = fast: not a number"},
        {"[encode]\nmax_rate = 5 Hz\n", "job.ini:4: [encode] max_rate = 5 Hz: not a number"},
        {"[encode]\nmax_rate = nan\n", "job.ini:4: [encode] max_rate = nan: not a finite number"},
        {"[encode]\nmax_rate = inf\n", "job.ini:4: [encode] max_rate = inf: not a finite number"},
        {"[encode]\nmax_rate = 1e999\n",
         "job.ini:4: [encode] max_rate = 1e999: not a finite number"},
        {"[encode]\nsplit = tran\n",
         "job.ini:4: [encode] split = tran: not one of train|test (did you mean 'train'?)"},
        {"[encode]\nsplit = Train\n",
         "job.ini:4: [encode] split = Train: not one of train|test (did you mean 'train'?)"},
        {"[encode]\nencoders = poisson,,latency\n",
         "job.ini:4: [encode] encoders = poisson,,latency: item 2 of the list is empty"},
        {"[encode]\nencoders = poisson,\n",
         "job.ini:4: [encode] encoders = poisson,: item 2 of the list is empty"},
        {"[encode]\nencoders = poisson, latncy\n",
         "job.ini:4: [encode] encoders = poisson, latncy: 'latncy' is not one of "
         "poisson|latency|integrate (did you mean 'latency'?)"},
        {"[encode]\nencoders = poisson, poisson\n",
         "job.ini:4: [encode] encoders = poisson, poisson: 'poisson' is listed twice"},
        {"[population.i]\nlabel = x\nsize = 0\n",
         "job.ini:5: [population.i] size = 0: below the minimum 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s", head, cases[i][0]);
        const char *msg = parse_err(text, 0, NULL);
        if (strcmp(msg, cases[i][1]) != 0)
            fprintf(stderr, "\ncase %zu: got '%s'\n", i, msg);
        CU_ASSERT_STRING_EQUAL(msg, cases[i][1]);
    }
}

static void test_syntax_errors(void)
{
    EXPECT_ERR("[job]\ntask = encode\nseed 3\n",
               "job.ini:3: syntax error (expected [section] or key = value)");
    EXPECT_ERR("[job]\ntask = encode\n[encode\ndt = 1\n",
               "job.ini:3: syntax error (expected [section] or key = value)");
    /* An inline comment hides the rest of a line. */
    EXPECT_ERR("[job]\ntask = encode\n[encode ;]\n",
               "job.ini:3: syntax error (expected [section] or key = value)");
    /* The first error in the file wins, whatever its kind. */
    EXPECT_ERR("[job]\ntask = encode\nsed = 1\nnonsense\n",
               "job.ini:3: [job] unknown key 'sed' (did you mean 'seed'?)");
    EXPECT_ERR("[job]\nnonsense\nsed = 1\n",
               "job.ini:2: syntax error (expected [section] or key = value)");
}

static void test_long_line(void)
{
    /* 198 characters and the newline fit inih's buffer; one more does not. */
    char text[512];
    int n = snprintf(text, sizeof text, "[job]\ntask = encode\noutput = ");
    memset(text + n, 'x', 198 - 9);
    strcpy(text + n + 198 - 9, "\n");
    sb_config *cfg = parse_ok(text, 0, NULL);
    if (cfg)
        CU_ASSERT_EQUAL(strlen(sb_cfg_str(cfg, "job", "output")), 198 - 9);
    sb_config_free(cfg);
    memset(text + n, 'x', 199 - 9);
    strcpy(text + n + 199 - 9, "\n[job]\n");
    EXPECT_ERR(text, "job.ini:3: line too long (200 characters; the limit is 199)");
    /* Without a final newline the last line may use all 199. */
    memset(text + n, 'x', 199 - 9);
    text[n + 199 - 9] = '\0';
    cfg = parse_ok(text, 0, NULL);
    sb_config_free(cfg);
    memset(text + n, 'y', 300);
    strcpy(text + n + 300, "\r\n");
    EXPECT_ERR(text, "job.ini:3: line too long (311 characters; the limit is 199)");
}

static void test_continuation(void)
{
    sb_config *cfg = parse_ok("[job]\ntask = encode\n[encode]\ntags = a,\n"
                              "   b  ; an inline comment\n\n   ; a comment\n   c\ndt = 1\n",
                              0, NULL);
    if (cfg) {
        const char *const *items;
        CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "encode", "tags", &items), 2);
        CU_ASSERT_STRING_EQUAL(items[0], "a");
        CU_ASSERT_STRING_EQUAL(items[1], "b c");
        CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "tags"), "job.ini:4");
        CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "dt"), "job.ini:9");
        sb_config_free(cfg);
    }
    EXPECT_ERR("[job]\ntask = encode\n[encode]\nencoders = poisson,\n   latency, x\n",
               "job.ini:4: [encode] encoders = poisson, latency, x: 'x' is not one of "
               "poisson|latency|integrate");
    /* Indented keys would silently become part of the value above. */
    EXPECT_ERR("[job]\ntask = encode\n[encode]\n  max_rate = 10\n  dt = 1\n",
               "job.ini:5: [encode] this indented line continues the value of 'max_rate' "
               "(unindent it to start a new key or section)");
    EXPECT_ERR("[encode]\ndt = 1\n  [job]\n",
               "job.ini:3: [encode] this indented line continues the value of 'dt' "
               "(unindent it to start a new key or section)");
}

static void test_required(void)
{
    EXPECT_ERR("", "job.ini: [job] required key 'task' is not set");
    EXPECT_ERR("; only a comment\n[encode]\ndt = 1\n",
               "job.ini: [job] required key 'task' is not set");
    EXPECT_ERR("[job]\ntask = encode\n[population.exc]\nsize = 5\n",
               "job.ini: [population.exc] required key 'label' is not set");
    char *ov[] = {"job.task=train"};
    sb_config *cfg = parse_ok("", 1, ov);
    if (cfg)
        CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "job", "task"), "command line");
    sb_config_free(cfg);
}

static void test_overrides(void)
{
    char *ov[] = {"encode.max_rate=5000",
                  " encode.split = train ",
                  "population.inh.label=I",
                  "population.exc.tau_m=20",
                  "job.seed=9",
                  "job.seed=10"};
    sb_config *cfg = parse_ok("[job]\ntask = encode\nseed = 3\n[encode]\nmax_rate = 10\n"
                              "[population.exc]\nlabel = E\n",
                              6, ov);
    if (!cfg)
        return;
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "max_rate"), 5000, 0);
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "encode", "max_rate"), "command line");
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "encode", "split"), "train");
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "job", "seed"), 10);
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "job", "task"), "job.ini:2");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "data", "dir"), "default");
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "population.exc", "tau_m"), 20, 0);
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "population.exc", "label"), "E");
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "population.inh", "label"), "I");
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "population.inh", "size"), 100);
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "population.inh", "size"), "default");
    CU_ASSERT_EQUAL(sb_cfg_is_set(cfg, "population.inh", "label"), 1);
    const char *const *names;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_sections(cfg, "population", &names), 2);
    CU_ASSERT_STRING_EQUAL(names[0], "population.exc");
    CU_ASSERT_STRING_EQUAL(names[1], "population.inh");
    CU_ASSERT_STRING_EQUAL(sb_cfg_overrides_text(cfg),
                           "encode.max_rate=5000\n encode.split = train \npopulation.inh.label=I\n"
                           "population.exc.tau_m=20\njob.seed=9\njob.seed=10");
    sb_config_free(cfg);
}

static void test_override_errors(void)
{
    const char *job = "[job]\ntask = encode\n";
    EXPECT_OVR_ERR(job, "encode.max_rate=-5",
                   "command line: encode.max_rate=-5: below the minimum 0 Hz");
    EXPECT_OVR_ERR(job, "foo", "command line: 'foo': expected section.key=value");
    EXPECT_OVR_ERR(job, "seed=3", "command line: 'seed=3': expected section.key=value");
    EXPECT_OVR_ERR(job, "job.seed", "command line: 'job.seed': expected section.key=value");
    EXPECT_OVR_ERR(job, ".seed=3", "command line: '.seed=3': expected section.key=value");
    EXPECT_OVR_ERR(job, "job.=3", "command line: 'job.=3': expected section.key=value");
    EXPECT_OVR_ERR(job, "job.seed=x", "command line: job.seed=x: not a whole number");
    EXPECT_OVR_ERR(job, "encode.max_rat=5",
                   "command line: encode.max_rat=5: [encode] unknown key 'max_rat' (did you mean "
                   "'max_rate'?)");
    EXPECT_OVR_ERR(job, "encod.dt=5",
                   "command line: encod.dt=5: unknown section [encod] (did you mean [encode]?)");
    EXPECT_OVR_ERR(job, "population.a-b.size=5",
                   "command line: population.a-b.size=5: bad section name [population.a-b]: a "
                   "[population.NAME] section needs a NAME of letters, digits and '_'");
    EXPECT_OVR_ERR(job, "job.output=a\nb",
                   "command line: job.output=a\nb: the value contains a line break");
    /* A family instance made on the command line still needs its required keys. */
    EXPECT_OVR_ERR(job, "population.exc.size=5",
                   "job.ini: [population.exc] required key 'label' is not set");
    /* The file is judged before the overrides. */
    EXPECT_OVR_ERR("[job]\ntask = x\n", "job.task=encode",
                   "job.ini:2: [job] task = x: not one of encode|train");
}

static void test_families(void)
{
    sb_config *cfg =
        parse_ok("[job]\ntask = encode\n[population.z]\nlabel = Z\nsize = 7\n"
                 "[population.a]\nlabel = A\nmodel = izhikevich\n[population.z]\ntau_m = 2\n",
                 0, NULL);
    if (!cfg)
        return;
    const char *const *names;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_sections(cfg, "population", &names), 2);
    CU_ASSERT_STRING_EQUAL(names[0], "population.z");
    CU_ASSERT_STRING_EQUAL(names[1], "population.a");
    CU_ASSERT_EQUAL(sb_cfg_sections(cfg, "population.*", &names), 2);
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "population.z", "size"), 7);
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "population.a", "size"), 100);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "population.z", "tau_m"), 2, 0);
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "population.z", "tau_m"), "job.ini:10");
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "population.a", "model"), "izhikevich");
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "population.z", "model"), "lif");
    /* An instance the job never wrote reads the family's defaults. */
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "population.none", "size"), 100);
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "population.none", "label"), "");
    CU_ASSERT_EQUAL(sb_cfg_is_set(cfg, "population.none", "size"), 0);
    sb_config_free(cfg);
    cfg = parse_ok("[job]\ntask = encode\n", 0, NULL);
    if (cfg)
        CU_ASSERT_EQUAL(sb_cfg_sections(cfg, "population", &names), 0);
    sb_config_free(cfg);
}

static void test_provenance(void)
{
    const char *text = "[job]\r\ntask = encode ; why\r\n[population.p]\r\nlabel = P\r\n";
    char *ov[] = {"encode.dt=2", "job.seed=5"};
    sb_config *cfg = parse_ok(text, 2, ov);
    if (!cfg)
        return;
    CU_ASSERT_STRING_EQUAL(sb_cfg_path(cfg), "job.ini");
    CU_ASSERT_STRING_EQUAL(sb_cfg_job_text(cfg), text);
    CU_ASSERT_STRING_EQUAL(sb_cfg_overrides_text(cfg), "encode.dt=2\njob.seed=5");
    CU_ASSERT_STRING_EQUAL(sb_cfg_effective_text(cfg), "job.task = encode\n"
                                                       "job.seed = 5\n"
                                                       "job.verbose = no\n"
                                                       "job.output = \n"
                                                       "data.dir = data/mnist\n"
                                                       "data.train = 0\n"
                                                       "encode.encoders = poisson,latency\n"
                                                       "encode.split = test\n"
                                                       "encode.max_rate = 63.75\n"
                                                       "encode.dt = 2\n"
                                                       "encode.tags = \n"
                                                       "population.p.size = 100\n"
                                                       "population.p.tau_m = 10\n"
                                                       "population.p.model = lif\n"
                                                       "population.p.label = P\n");
    sb_config_free(cfg);
    cfg = parse_ok("[job]\ntask=train\n", 0, NULL);
    if (cfg)
        CU_ASSERT_STRING_EQUAL(sb_cfg_overrides_text(cfg), "");
    sb_config_free(cfg);
}

static void test_open_section(void)
{
    /* Keys come in the order of their first line, across blocks of [sweep]. */
    sb_config *cfg = parse_ok("[job]\ntask = train\n[sweep]\ntrain.lr = 0.01, 0.05\n"
                              "model-size = 64,\n  128\n[encode]\ndt = 1\n[sweep]\nX_1 = a\n",
                              0, NULL);
    if (!cfg)
        return;
    const char *const *names = NULL;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_open_keys(cfg, "sweep", &names), 3);
    CU_ASSERT_STRING_EQUAL(names[0], "train.lr");
    CU_ASSERT_STRING_EQUAL(names[1], "model-size");
    CU_ASSERT_STRING_EQUAL(names[2], "X_1");
    const char *const *items;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "sweep", "train.lr", &items), 2);
    CU_ASSERT_STRING_EQUAL(items[0], "0.01");
    CU_ASSERT_STRING_EQUAL(items[1], "0.05");
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "sweep", "model-size", &items), 2);
    CU_ASSERT_STRING_EQUAL(items[1], "128");
    CU_ASSERT_EQUAL(sb_cfg_list(cfg, "sweep", "X_1", &items), 1);
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "sweep", "train.lr"), "job.ini:4");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "sweep", "model-size"), "job.ini:5");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "sweep", "X_1"), "job.ini:10");
    CU_ASSERT_EQUAL(sb_cfg_is_set(cfg, "sweep", "X_1"), 1);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "dt"), 1, 0);
    sb_config_free(cfg);
    /* No [sweep], or one without keys: nothing, and nothing required. */
    static const char *const empty[] = {"[job]\ntask = train\n", "[job]\ntask = train\n[sweep]\n"};
    for (size_t i = 0; i < 2; i++) {
        cfg = parse_ok(empty[i], 0, NULL);
        names = NULL;
        if (cfg)
            CU_ASSERT_EQUAL(sb_cfg_open_keys(cfg, "sweep", &names), 0);
        CU_ASSERT_PTR_NOT_NULL(names);
        sb_config_free(cfg);
    }
}

static void test_open_section_errors(void)
{
    EXPECT_ERR("[job]\ntask = train\n[sweep]\na.b = 1\nc = 2\na.b = 3\n",
               "job.ini:6: [sweep] key 'a.b' is set twice (first on line 4)");
    EXPECT_ERR("[sweep]\na = 1\n[job]\ntask = train\n[sweep]\na = 2\n",
               "job.ini:6: [sweep] key 'a' is set twice (first on line 2)");
    EXPECT_ERR("[job]\ntask = train\n[sweep]\nok = 1\nlr = 0.1,,0.2\n",
               "job.ini:5: [sweep] lr = 0.1,,0.2: item 2 of the list is empty");
    EXPECT_ERR("[job]\ntask = train\n[sweep]\nlr = 0.1,\n",
               "job.ini:4: [sweep] lr = 0.1,: item 2 of the list is empty");
    EXPECT_ERR("[sweep]\na b = 1\n", "job.ini:2: [sweep] bad key name 'a b': a key of [sweep] "
                                     "needs a name of letters, digits, '_', '.' and '-'");
    EXPECT_ERR("[sweep]\nlr/2 = 1\n", "job.ini:2: [sweep] bad key name 'lr/2': a key of [sweep] "
                                      "needs a name of letters, digits, '_', '.' and '-'");
    EXPECT_ERR("[sweep]\n= 1\n", "job.ini:2: [sweep] bad key name '': a key of [sweep] needs a "
                                 "name of letters, digits, '_', '.' and '-'");
    /* [sweep] is no family. */
    EXPECT_ERR("[job]\ntask = train\n[sweep.a]\n", "job.ini:3: unknown section [sweep.a] (did you "
                                                   "mean [sweep]?)");
}

/* Does s end with tail? Prints s when not, for the report. */
static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    int ok = n >= m && strcmp(s + n - m, tail) == 0;
    if (!ok)
        fprintf(stderr, "\ngot '%s'\n", s);
    return ok;
}

static void test_open_section_overrides(void)
{
    /* Replacing keeps a key's place; adding appends; spaces around the
     * section and the key go, as for any override. */
    char *ov[] = {"sweep.train.lr=0.1,0.2", "sweep.new-key = x , y ", " sweep . b = 9",
                  "sweep.a=5", "population.exc.label=E", "sweep.train.lr=0.3"};
    sb_config *cfg = parse_ok("[job]\ntask = train\n[sweep]\na = 1, 2\nb = 3\n", 6, ov);
    if (!cfg)
        return;
    const char *const *names;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_open_keys(cfg, "sweep", &names), 4);
    CU_ASSERT_STRING_EQUAL(names[0], "a");
    CU_ASSERT_STRING_EQUAL(names[1], "b");
    CU_ASSERT_STRING_EQUAL(names[2], "train.lr");
    CU_ASSERT_STRING_EQUAL(names[3], "new-key");
    const char *const *items;
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "sweep", "a", &items), 1);
    CU_ASSERT_STRING_EQUAL(items[0], "5");
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "sweep", "train.lr", &items), 1);
    CU_ASSERT_STRING_EQUAL(items[0], "0.3");
    CU_ASSERT_EQUAL_FATAL(sb_cfg_list(cfg, "sweep", "new-key", &items), 2);
    CU_ASSERT_STRING_EQUAL(items[0], "x");
    CU_ASSERT_STRING_EQUAL(items[1], "y");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "sweep", "a"), "command line");
    CU_ASSERT_STRING_EQUAL(sb_cfg_where(cfg, "sweep", "new-key"), "command line");
    CU_ASSERT_EQUAL(sb_cfg_is_set(cfg, "sweep", "b"), 1);
    /* A family instance still takes the key after the last '.'. */
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "population.exc", "label"), "E");
    CU_ASSERT(ends_with(sb_cfg_effective_text(cfg), "population.exc.label = E\n"
                                                    "sweep.a = 5\n"
                                                    "sweep.b = 9\n"
                                                    "sweep.train.lr = 0.3\n"
                                                    "sweep.new-key = x , y\n"));
    sb_config_free(cfg);
    /* Overrides alone make an open key; the file's keys come first. */
    char *ov2[] = {"sweep.train.lr=0.01, 0.05"};
    cfg = parse_ok("[job]\ntask = train\n[sweep]\nencode.dt = 1\n", 1, ov2);
    if (cfg) {
        CU_ASSERT_EQUAL(sb_cfg_open_keys(cfg, "sweep", &names), 2);
        CU_ASSERT(ends_with(sb_cfg_effective_text(cfg),
                            "encode.tags = \nsweep.encode.dt = 1\nsweep.train.lr = 0.01, 0.05\n"));
    }
    sb_config_free(cfg);
    const char *job = "[job]\ntask = encode\n";
    EXPECT_OVR_ERR(job, "sweep.lr=0.1,,0.2",
                   "command line: sweep.lr=0.1,,0.2: item 2 of the list is empty");
    EXPECT_OVR_ERR(job, "sweep.a b=1",
                   "command line: sweep.a b=1: [sweep] bad key name 'a b': a key of [sweep] needs "
                   "a name of letters, digits, '_', '.' and '-'");
    EXPECT_OVR_ERR(job, "sweep.=1", "command line: 'sweep.=1': expected section.key=value");
    EXPECT_OVR_ERR(job, "sweep=1", "command line: 'sweep=1': expected section.key=value");
    /* The first-dot rule is for open sections only: elsewhere the key is
     * what follows the last '.'. */
    EXPECT_OVR_ERR(job, "encode.x.dt=1",
                   "command line: encode.x.dt=1: unknown section [encode.x] (did you mean "
                   "[encode]?)");
    EXPECT_OVR_ERR(job, "sweeps.a.b=1", "command line: sweeps.a.b=1: unknown section [sweeps.a]");
}

/* The spec of "*" applies to every key of its section: type, range, choices. */
static void test_open_section_types(void)
{
    static const sb_key_spec grid[] = {
        {"job", "seed", SB_KEY_INT, "1", 0, 10, NULL, "", ""},
        {"grid", "*", SB_KEY_INT, NULL, 0, 10, NULL, "", "any count"},
        {"mode", "*", SB_KEY_CHOICE, "a", ANY, "a|b", "", "any choice"},
    };
    sb_config *cfg = NULL;
    char *ov[] = {"grid.z=7", "mode.m.n=b"};
    CU_ASSERT_EQUAL_FATAL(
        sb_config_parse(&cfg, grid, 3, "t.ini", "[grid]\nn = 3\n[mode]\nk = a\n", 2, ov), SB_OK);
    CU_ASSERT_EQUAL(sb_cfg_int(cfg, "grid", "n"), 3);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "grid", "z"), 7, 0);
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "mode", "k"), "a");
    CU_ASSERT_STRING_EQUAL(sb_cfg_str(cfg, "mode", "m.n"), "b");
    CU_ASSERT_STRING_EQUAL(sb_cfg_effective_text(cfg),
                           "job.seed = 1\ngrid.n = 3\ngrid.z = 7\nmode.k = a\nmode.m.n = b\n");
    sb_config_free(cfg);
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, grid, 3, "t.ini", "[grid]\nn = 11\n", 0, NULL),
                    SB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(sb_last_error(), "t.ini:2: [grid] n = 11: above the maximum 10");
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, grid, 3, "t.ini", "[mode]\nk = c\n", 0, NULL),
                    SB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(sb_last_error(), "t.ini:2: [mode] k = c: not one of a|b");
}

static void test_load(void)
{
    const char *path = sb_test_path("load.ini");
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[job]\ntask = encode\n[encode]\ndt = -1\n", f);
    fclose(f);
    sb_config *cfg = (sb_config *)&cfg;
    CU_ASSERT_EQUAL(sb_config_load(&cfg, keys, nkeys, path, 0, NULL), SB_ECONFIG);
    CU_ASSERT_PTR_NULL(cfg);
    char want[512];
    snprintf(want, sizeof want, "%s:4: [encode] dt = -1: below the minimum 0.0001 ms", path);
    CU_ASSERT_STRING_EQUAL(sb_last_error(), want);
    /* A wrong value in the file is wrong even where an override replaces it. */
    char *ov[] = {"encode.dt=1"};
    CU_ASSERT_EQUAL(sb_config_load(&cfg, keys, nkeys, path, 1, ov), SB_ECONFIG);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[job]\ntask = encode\n[encode]\ndt = 3\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(sb_config_load(&cfg, keys, nkeys, path, 1, ov), SB_OK);
    CU_ASSERT_STRING_EQUAL(sb_cfg_path(cfg), path);
    CU_ASSERT_DOUBLE_EQUAL(sb_cfg_real(cfg, "encode", "dt"), 1, 0);
    sb_config_free(cfg);
    CU_ASSERT_EQUAL(sb_config_load(&cfg, keys, nkeys, sb_test_path("missing.ini"), 0, NULL),
                    SB_EIO);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), "missing.ini"));
}

static void test_bad_table(void)
{
    static const sb_key_spec bad[] = {
        {"job", "seed", SB_KEY_INT, "1", 0, 10, NULL, "", ""},
        {"job", "rate", SB_KEY_REAL, "fast", 0, 10, NULL, "", ""},
    };
    sb_config *cfg = NULL;
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, bad, 2, "t.ini", "", 0, NULL), SB_ECONFIG);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_STRING_EQUAL(sb_last_error(), "internal: bad default for job.rate: not a number");
    static const sb_key_spec twice[] = {
        {"job", "seed", SB_KEY_INT, "1", 0, 10, NULL, "", ""},
        {"job", "seed", SB_KEY_INT, "1", 0, 10, NULL, "", ""},
    };
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, twice, 2, "t.ini", "", 0, NULL), SB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(sb_last_error(), "internal: job.seed is declared twice");
    /* An open section declares "*" and nothing else, in either order. */
    static const sb_key_spec open_and_key[][2] = {
        {{"sweep", "*", SB_KEY_LIST, "", 0, 0, NULL, "", ""},
         {"sweep", "lr", SB_KEY_REAL, "1", 0, 10, NULL, "", ""}},
        {{"sweep", "lr", SB_KEY_REAL, "1", 0, 10, NULL, "", ""},
         {"sweep", "*", SB_KEY_LIST, "", 0, 0, NULL, "", ""}},
    };
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(sb_config_parse(&cfg, open_and_key[i], 2, "t.ini", "", 0, NULL),
                        SB_ECONFIG);
        CU_ASSERT_PTR_NULL(cfg);
        CU_ASSERT_STRING_EQUAL(sb_last_error(),
                               "internal: sweep.* must be the only key of [sweep]");
    }
    static const sb_key_spec open_family[] = {
        {"job", "seed", SB_KEY_INT, "1", 0, 10, NULL, "", ""},
        {"population.*", "*", SB_KEY_LIST, "", 0, 0, NULL, "", ""},
    };
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, open_family, 2, "t.ini", "", 0, NULL), SB_ECONFIG);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_STRING_EQUAL(sb_last_error(),
                           "internal: the family population.* cannot have the open key '*'");
    /* An override finds an open section by the text before its first '.'. */
    static const sb_key_spec open_dotted[] = {
        {"sweep.x", "*", SB_KEY_LIST, "", 0, 0, NULL, "", ""}};
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, open_dotted, 1, "t.ini", "", 0, NULL), SB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(sb_last_error(),
                           "internal: the open section [sweep.x] needs a name without '.' (an "
                           "override names it by the text before its first '.')");
    static const sb_key_spec open_shadows[] = {
        {"sweep.*", "size", SB_KEY_INT, "1", 0, 10, NULL, "", ""},
        {"sweep", "*", SB_KEY_LIST, "", 0, 0, NULL, "", ""},
    };
    CU_ASSERT_EQUAL(sb_config_parse(&cfg, open_shadows, 2, "t.ini", "", 0, NULL), SB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(sb_last_error(),
                           "internal: [sweep] is open, so overrides could not reach [sweep.*]");
}

static void test_print_keys(void)
{
    for (int md = 0; md <= 1; md++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        sb_config_print_keys(f, keys, nkeys, md);
        fclose(f);
        for (size_t i = 0; i < nkeys; i++) {
            char name[128];
            if (strcmp(keys[i].section, "population.*") == 0)
                snprintf(name, sizeof name, "population.NAME.%s", keys[i].name);
            else
                snprintf(name, sizeof name, "%s.%s", keys[i].section, keys[i].name);
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, name));
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, keys[i].help));
        }
        if (md) {
            const char *head = "| key | type | default | allowed | description |\n";
            CU_ASSERT_EQUAL(strncmp(buf, head, strlen(head)), 0);
            CU_ASSERT_PTR_NOT_NULL(
                strstr(buf, "| `encode.max_rate` | real | `63.75` | 0 .. 1e+06 Hz |"));
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, "poisson\\|latency\\|integrate"));
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `job.task` | choice | (required) |"));
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `sweep.*` | list | (none) |  | keys to sweep: "
                                               "section.key = v1, v2, ... |\n"));
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, "0 .. 4294967295"));
            CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nsweep.*  "));
            /* Columns line up: the type column starts at the same place on every line. */
            const char *line = buf;
            const char *col = strstr(buf, "type");
            size_t at = col ? (size_t)(col - buf) : 0;
            int lines = 0;
            while (*line) {
                const char *nl = strchr(line, '\n');
                CU_ASSERT_FATAL(nl != NULL);
                CU_ASSERT(line[at - 1] == ' ' && line[at] != ' ');
                line = nl + 1;
                lines++;
            }
            CU_ASSERT_EQUAL(lines, (int)nkeys + 1);
        }
        free(buf);
    }
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "valid file: comments, defaults, typed reads, where", test_valid_file);
    CU_add_test(s, "typed values: sign, booleans, empty list, hex real", test_typed_values);
    CU_add_test(s, "CRLF line ends and a byte order mark", test_crlf_and_bom);
    CU_add_test(s, "unknown section named at its line, with suggestions", test_unknown_section);
    CU_add_test(s, "unknown key with suggestions", test_unknown_key);
    CU_add_test(s, "key set twice; key outside a section", test_duplicate_and_outside);
    CU_add_test(s, "type and range errors", test_type_errors);
    CU_add_test(s, "syntax errors; the first error wins", test_syntax_errors);
    CU_add_test(s, "line too long", test_long_line);
    CU_add_test(s, "continuation lines", test_continuation);
    CU_add_test(s, "required keys, also in an empty file", test_required);
    CU_add_test(s, "overrides: precedence, families, where", test_overrides);
    CU_add_test(s, "override errors", test_override_errors);
    CU_add_test(s, "family sections", test_families);
    CU_add_test(s, "provenance strings", test_provenance);
    CU_add_test(s, "open section: keys in order, where, empty", test_open_section);
    CU_add_test(s, "open section: twice, bad list, bad name, no family", test_open_section_errors);
    CU_add_test(s, "open section: overrides, first-dot rule, effective text",
                test_open_section_overrides);
    CU_add_test(s, "open section: the spec's type, range and choices", test_open_section_types);
    CU_add_test(s, "load from a file", test_load);
    CU_add_test(s, "bad key table", test_bad_table);
    CU_add_test(s, "print_keys: text and Markdown", test_print_keys);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
