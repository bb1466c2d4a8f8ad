/* Shared by the tasks that train models (train, ensemble): see member.c. */
#ifndef SB_TASKS_MEMBER_H
#define SB_TASKS_MEMBER_H

#include "spikebridge/ann.h"
#include "spikebridge/data.h"
#include "spikebridge/io.h"
#include "spikebridge/tasks.h"

/* How to train a model: [train], [model] and [data] of the job. */
typedef struct {
    ann_train_cfg tc;       /* member and view are set per model */
    const char *arch_name;  /* as written: a reference name or a layer list */
    const char *arch;       /* the expanded layer list */
    const char *view_key;   /* model.view: auto, image, rows, cols */
    const char *dir;        /* data.dir */
    uint32_t rows, cols;    /* image shape of the dataset */
    uint64_t ntrain, ntest; /* images used from each split */
    int checkpoint;         /* train.checkpoint */
} sb_recipe;

sb_status sb_recipe_read(const sb_config *c, sb_recipe *r);
/* Sets arch and view for a member named `name` (model.view still wins). */
void sb_recipe_set_arch(sb_recipe *r, const char *name);
/* Builds the architecture once to check it. */
sb_status sb_recipe_check_arch(const sb_recipe *r);
void sb_recipe_tag(const sb_recipe *r, uint64_t member, char *tag, size_t len);

/* Trains member `member` (resuming from ckpt_path when it exists and
 * checkpoints are on). *complete says whether every epoch is done; then
 * *probs (test images x classes, malloc'd) and *accuracy are filled. */
sb_status sb_member_train(const sb_recipe *r, uint64_t member, const char *ckpt_path,
                          const sb_dataset *train, const sb_dataset *test, ann_trainer *t,
                          float **probs, double *accuracy, int *complete);

/* Saves (save = 1) or loads a member's checkpoint. */
sb_status sb_member_checkpoint(ann_trainer *t, const char *path, const char *tag, int epochs,
                               int save);

/* Collective: the model's weights under group `where` (see the README's
 * file layout); `holder` is 1 on the rank whose model holds the values. */
sb_status sb_write_model(hid_t loc, const char *where, const ann_model *m, const sb_recipe *r,
                         int holder, MPI_Comm comm);
/* Reads the model that sb_write_model wrote under `group` of path ("model"
 * for a `train` run, "members/0003/model" for an ensemble's fourth member),
 * built for batches up to max_batch on images of rows x cols, with the view
 * and input normalisation it was trained with. */
sb_status sb_read_model(const char *path, const char *group, ann_model *m, int max_batch,
                        uint32_t rows, uint32_t cols, sb_view *view, float *mean, float *std);
/* Collective: per-epoch metrics as datasets under `where`. */
sb_status sb_write_metrics(hid_t loc, const char *where, const ann_trainer *t, int epochs,
                           int holder, MPI_Comm comm);

#endif
