"""IntrinsiX training: data sets (`intrinsix.training.data`) and the stage 1 / stage 2 trainers."""
