/* Subcommands of the mrnet tool: each takes argc/argv from its own name on
 * and returns the process exit status (0 ok, 1 failure, 2 usage). */
#ifndef MRNET_CLI_COMMANDS_H
#define MRNET_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_cv(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
