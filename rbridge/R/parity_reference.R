# Reference values of every R mirror of the cross-check on the default run, committed as data
# (tests/reference/parity_reference.csv and its sidecar parity_reference.json) so that
# tests/rbridge/test_rbridge_parity_reference.py compares the Python estimates with R without
# R. The estimation is that of the run's replicate.R (written by `python -m analysis
# export-r` from the cross-check's own matrix, R calls and tolerances); this script runs it,
# keeps the checks R ran, and records R's and the packages' versions and the sha256 of the
# analysis panel. Regenerate whenever the default panel or a specification changes (the
# tests compare the sha256 and the specification texts):
#
#   python -m analysis run --out output
#   python -m analysis export-r output
#   TZ=UTC R_LIBS=/path/to/library Rscript rbridge/R/parity_reference.R output \
#       tests/reference/parity_reference.csv

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript parity_reference.R RUN_DIR OUT.csv")
run_dir <- normalizePath(args[1])
out_file <- args[2]
sidecar_file <- sub("\\.csv$", ".json", out_file)
started <- Sys.time()

rb_here <- run_dir
source(file.path(run_dir, "replicate.R"), local = TRUE)
table <- utils::read.csv(file.path(run_dir, "replicate.csv"), stringsAsFactors = FALSE)
ran <- table[table$verdict %in% c("pass", "fail"), ]
if (any(ran$verdict == "fail")) {
  stop("replicate.R failed on ", paste(ran$check[ran$verdict == "fail"], collapse = ", "))
}
g17 <- function(x) trimws(formatC(as.numeric(x), digits = 17, format = "g"))
reference <- data.frame(check = ran$check, model = ran$model, quantity = ran$quantity,
                        r_value = g17(ran$r_value), tolerance = g17(ran$tolerance),
                        r_engine = ran$r_engine, stringsAsFactors = FALSE)
utils::write.csv(reference, out_file, row.names = FALSE)

# The specification texts of every model checked (the DML reference's under its model).
estimates <- utils::read.csv(file.path(run_dir, "estimates.csv"), stringsAsFactors = FALSE,
                             na.strings = "")
models <- list()
for (m in unique(ran$model)) {
  source_model <- sub("\\[linear\\]$", "", m)
  row <- estimates[estimates$model == source_model, ][1, ]
  models[[m]] <- list(estimator = row$estimator, formula = row$formula, vcov = row$vcov,
                      ssc = row$ssc, subset = if (is.na(row$subset)) "" else row$subset)
}
packages <- c("fixest", "did", "DRDID", "did2s", "didimputation", "bacondecomp", "HonestDiD",
              "CVXR", "DoubleML", "mlr3", "mlr3learners", "sandwich", "data.table")
panel_file <- file.path(run_dir, "analysis_panel.csv")
sidecar <- list(
  script = "rbridge/R/parity_reference.R",
  R = paste(R.version$major, R.version$minor, sep = "."),
  packages = as.list(setNames(vapply(packages, rb_installed, character(1)), packages)),
  panel_sha256 = sub(" .*", "", system2("sha256sum", shQuote(panel_file), stdout = TRUE)),
  checks = nrow(reference),
  models = models,
  seconds = round(as.numeric(difftime(Sys.time(), started, units = "secs")), 1)
)
writeLines(jsonlite::toJSON(sidecar, auto_unbox = TRUE, pretty = TRUE, null = "null",
                            na = "null"), sidecar_file)
cat("wrote", out_file, "and", sidecar_file, "\n")
