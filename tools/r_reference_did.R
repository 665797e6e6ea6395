#!/usr/bin/env Rscript
# Reference values of the Callaway-Sant'Anna estimates from R's `did`, for the tests.
#
# Usage (from the repository root, with `did` installed, e.g. R_LIBS=~/R/rbridge):
#   Rscript tools/r_reference_did.R tests/reference/golden/analysis_panel.csv \
#       tests/reference/did_reference.csv
# (the committed golden panel, written by tools/golden.py: the tests check that the panel a
# run writes is it, byte for byte or within the precision policy's tolerance)
#
# The specifications mirror analysis/estimators/callaway_santanna.py: model ids and terms are
# the ones Python writes to estimates.csv. Every inference option of att_gt and aggte is
# spelled out (no bootstrap, no uniform bands, no clustering beyond the unit). The output
# records the R version, the did version and the sha256 of the panel file it read, so a test
# can tell whether the committed values belong to the current panel.

suppressPackageStartupMessages({
  library(did)
  library(digest)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: r_reference_did.R PANEL.csv OUT.csv [covariates,comma,separated]")
panel_file <- args[[1]]
out_file <- args[[2]]
covariates <- if (length(args) >= 3 && nzchar(args[[3]])) strsplit(args[[3]], ",")[[1]] else
  c("ln_gdp_pc", "urbanization")

panel <- read.csv(panel_file)
panel_sha <- digest(file = panel_file, algo = "sha256")

fit_attgt <- function(control, base, method = "dr", xformla = NULL) {
  att_gt(
    yname = "resilience", tname = "year", idname = "city_code", gname = "first_treat",
    xformla = xformla, data = panel, panel = TRUE, allow_unbalanced_panel = FALSE,
    control_group = control, anticipation = 0, weightsname = NULL, alp = 0.05,
    bstrap = FALSE, cband = FALSE, clustervars = NULL, est_method = method,
    base_period = base, print_details = FALSE
  )
}

rows <- list()
add <- function(model, term, estimate, se) {
  rows[[length(rows) + 1]] <<- data.frame(
    model = model, term = term, estimate = estimate, std_error = se
  )
}

add_aggregations <- function(fit, suffix) {
  for (i in seq_along(fit$att)) {
    add(paste0("cs_attgt", suffix), sprintf("attgt::%d:%d", fit$group[i], fit$t[i]),
        fit$att[i], fit$se[i])
  }
  simple <- aggte(fit, type = "simple", bstrap = FALSE, cband = FALSE, na.rm = FALSE)
  add(paste0("cs_simple", suffix), "ATT", simple$overall.att, simple$overall.se)
  labels <- c(dynamic = "event_time", group = "cohort", calendar = "year")
  for (type in names(labels)) {
    agg <- aggte(fit, type = type, bstrap = FALSE, cband = FALSE, na.rm = FALSE)
    model <- paste0("cs_", type, suffix)
    add(model, "overall", agg$overall.att, agg$overall.se)
    add(model, sprintf("%s::%d", labels[[type]], agg$egt), agg$att.egt, agg$se.egt)
  }
}

for (control in c("nevertreated", "notyettreated")) {
  for (base in c("varying", "universal")) {
    suffix <- paste0(
      if (control == "notyettreated") "_notyet" else "",
      if (base == "universal") "_universal" else ""
    )
    add_aggregations(fit_attgt(control, base), suffix)
  }
}

xformla <- as.formula(paste("~", paste(covariates, collapse = " + ")))
for (method in c("dr", "reg", "ipw")) {
  fit <- fit_attgt("nevertreated", "varying", method, xformla)
  simple <- aggte(fit, type = "simple", bstrap = FALSE, cband = FALSE, na.rm = FALSE)
  add(sprintf("cs_simple_%s_cov", method), "ATT", simple$overall.att, simple$overall.se)
}

out <- do.call(rbind, rows)
out$r_version <- paste(R.version$major, R.version$minor, sep = ".")
out$did_version <- as.character(packageVersion("did"))
out$panel_sha256 <- panel_sha
out$covariates <- paste(covariates, collapse = ",")
write.csv(out, out_file, row.names = FALSE)
cat(sprintf("wrote %d rows to %s\n", nrow(out), out_file))
