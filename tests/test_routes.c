/* Route names and route lists (src/model/config.c): the order L1 L2 L3 H M1
 * M2 M3 is w_all's index order, lists are case-insensitive with commas and
 * spaces, and a bad list is named in the error. */
#include "testutil.h"

#include <string.h>

#include "mrnet/mrnet.h"

static void names(void **state)
{
    (void)state;
    static const char *const want[MRNET_ROUTES] = {"L1", "L2", "L3", "H", "M1", "M2", "M3"};
    for (int j = 0; j < MRNET_ROUTES; j++)
        assert_string_equal(mrnet_route_name(j), want[j]);
    assert_string_equal(mrnet_route_name(-1), "?");
    assert_string_equal(mrnet_route_name(MRNET_ROUTES), "?");
    /* Every name parses back to its own bit. */
    for (int j = 0; j < MRNET_ROUTES; j++) {
        unsigned mask = 99;
        assert_int_equal(mrnet_parse_routes(mrnet_route_name(j), &mask), MRNET_OK);
        assert_int_equal(mask, 1u << j);
    }
}

static void expect_mask(const char *list, unsigned want)
{
    unsigned mask = 12345;
    if (mrnet_parse_routes(list, &mask) != MRNET_OK)
        fail_msg("'%s': %s", list ? list : "(null)", mrnet_last_error());
    if (mask != want)
        fail_msg("'%s': mask 0x%x, expected 0x%x", list ? list : "(null)", mask, want);
}

static void lists(void **state)
{
    (void)state;
    expect_mask("L1,M2", 1u << 0 | 1u << 5);
    expect_mask("l1,m2", 1u << 0 | 1u << 5);
    expect_mask("M2,L1", 1u << 0 | 1u << 5);
    expect_mask(" L1 , m2 ", 1u << 0 | 1u << 5);
    expect_mask("L1 M2", 1u << 0 | 1u << 5);
    expect_mask("h", 1u << 3);
    expect_mask("L2,L2,l2", 1u << 1);
    expect_mask(",,L3,,", 1u << 2);
    expect_mask("L1,L2,L3,H,M1,M2", 0x3f); /* six of seven is allowed */
    expect_mask("", 0);
    expect_mask(" , ", 0);
    expect_mask(NULL, 0);
}

static void expect_error(const char *list, const char *fragment)
{
    unsigned mask = 0;
    assert_int_equal(mrnet_parse_routes(list, &mask), MRNET_ERR_ARG);
    const char *msg = mrnet_last_error();
    if (!strstr(msg, fragment))
        fail_msg("'%s': message lacks '%s': %s", list, fragment, msg);
}

static void errors(void **state)
{
    (void)state;
    expect_error("L1,X9", "'X9'");
    expect_error("L4", "'L4'");
    expect_error("M", "'M'");
    expect_error("L1;M2", "'L1;M2'");
    expect_error("HH", "'HH'");
    expect_error("L1,L2,L3,H,M1,M2,M3", "every route");
    expect_error("m3 m2 m1 h l3 l2 l1", "every route");
    /* The known names are listed for the user. */
    expect_error("Q", "L1 L2 L3 H M1 M2 M3");
}

/* The model takes any mask but all seven. */
static void model_mask(void **state)
{
    (void)state;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 2);
    cfg.in_dim = 3;
    cfg.in_channels = 1;
    cfg.n_layers = 1;
    cfg.channels = 16;
    cfg.embed = 4;
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 1, &m), MRNET_OK);
    assert_int_equal(mrnet_model_drop_routes(m), 0);
    assert_int_equal(mrnet_model_set_drop_routes(m, 0x3f), MRNET_OK);
    assert_int_equal(mrnet_model_drop_routes(m), 0x3f);
    assert_int_equal(mrnet_model_set_drop_routes(m, 0x7f), MRNET_ERR_ARG);
    assert_int_equal(mrnet_model_set_drop_routes(m, 0x80), MRNET_ERR_ARG);
    assert_int_equal(mrnet_model_drop_routes(m), 0x3f); /* unchanged by the failures */
    mrnet_model_free(m);
}


/* Configuration JSON: huge or fractional numbers are refused, not converted
 * (converting an out-of-range double to int is undefined behaviour). */
static void config_json_numbers(void **state)
{
    (void)state;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 4);
    char json[512];
    assert_int_equal(mrnet_config_to_json(&cfg, json, sizeof json), MRNET_OK);
    mrnet_config back;
    mrnet_config_default(&back, 0);
    assert_int_equal(mrnet_config_from_json(json, &back), MRNET_OK);
    assert_memory_equal(&cfg, &back, sizeof cfg);
    assert_int_equal(mrnet_config_from_json("{\"channels\": 1e20}", &back), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "channels"));
    assert_int_equal(mrnet_config_from_json("{\"embed\": 12.5}", &back), MRNET_ERR_FORMAT);
    assert_int_equal(mrnet_config_from_json("{\"dilations\": [2, 2.5, 4]}", &back), MRNET_ERR_FORMAT);
    assert_int_equal(mrnet_config_from_json("{\"dilations\": [2, 3, -4]}", &back), MRNET_ERR_FORMAT);
    assert_int_equal(mrnet_config_from_json("[1, 2]", &back), MRNET_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_json_numbers),
        cmocka_unit_test(names),
        cmocka_unit_test(lists),
        cmocka_unit_test(errors),
        cmocka_unit_test(model_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
