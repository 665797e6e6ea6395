# Reference values of the study's fixed-effects models from real fixest, committed as data
# (tests/reference/fixest_reference.csv) so that the tests compare the Python estimates
# with fixest without R. Regenerate whenever the default panel or a specification changes
# (tests/test_rbridge_reference.py fails when the panel's sha256 no longer matches). Read the
# committed golden panel (tools/golden.py writes it; the tests accept a panel written on
# another machine that equals it within the precision policy's tolerance):
#
#   R_LIBS=/path/to/fixest/library Rscript rbridge/R/reference.R \
#       tests/reference/golden/analysis_panel.csv tests/reference/fixest_reference.csv
#
# The models are written out here in the same terms as estimates.csv records them; the
# estimation itself is rb_feols() of bridge.R, the function the live cross-check calls
# (its long key / quantity / value table read back into one row per term).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript reference.R ANALYSIS_PANEL.csv OUT.csv")
panel_file <- args[1]
out_file <- args[2]

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bridge <- new.env()
for (file in c("bridge.R", "did.R", "inference.R")) {
  sys.source(file.path(dirname(normalizePath(script)), file), envir = bridge)
}

controls <- c("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")
fe <- c("city_code", "year")
models <- list(
  baseline_twfe = list(
    regressors = "treat_post",
    formula = "resilience ~ treat_post | city_code + year"),
  baseline_twfe_controls = list(
    regressors = c("treat_post", controls),
    formula = paste("resilience ~", paste(c("treat_post", controls), collapse = " + "),
                    "| city_code + year")),
  event_study = list(
    event_var = "event_time", event_ref = c(-1L, -1000L),
    formula = "resilience ~ i(event_time, ref = c(-1, -1000)) | city_code + year"),
  sunab = list(
    sunab_cohort = "first_treat", sunab_period = "year",
    formula = "resilience ~ sunab(first_treat, year) | city_code + year")
)
ssc_text <- "K.adj=TRUE;K.fixef=nonnested;G.adj=TRUE;G.df=min;t.df=min;fixef.rm=none"

panel <- utils::read.csv(panel_file)
sha <- sub(" .*", "", system2("sha256sum", shQuote(panel_file), stdout = TRUE))

rows <- list()
for (model in names(models)) {
  m <- models[[model]]
  res <- bridge$rb_feols(
    data = panel, outcome = "resilience", regressors = m$regressors, interactions = list(),
    event_var = m$event_var, event_ref = m$event_ref, sunab_cohort = m$sunab_cohort,
    sunab_period = m$sunab_period, sunab_never = 0, fixef = as.list(fe), vcov_type = "CRV1",
    cluster = "city_code", K.adj = TRUE, K.fixef = "nonnested", G.adj = TRUE, G.df = "min",
    t.df = "min", fixef.rm = "none", subset_col = NULL, term_prefix = "event_time"
  )
  pick <- function(quantity) res$value[res$quantity == quantity & nzchar(res$key)]
  term <- res$key[res$quantity == "estimate" & nzchar(res$key)]
  count <- function(quantity) res$value[res$quantity == quantity & !nzchar(res$key)]
  rows[[model]] <- data.frame(
    model = model, term = term, estimate = pick("estimate"), std_error = pick("std_error"),
    n_obs = count("n_obs"), n_clusters = count("n_clusters"), formula = m$formula,
    vcov = "CRV1:city_code", ssc = ssc_text
  )
}
out <- do.call(rbind, rows)
out$estimate <- formatC(out$estimate, digits = 17, format = "g")
out$std_error <- formatC(out$std_error, digits = 17, format = "g")
out$R <- paste(R.version$major, R.version$minor, sep = ".")
out$fixest <- as.character(utils::packageVersion("fixest"))
out$panel_sha256 <- sha
utils::write.csv(out, out_file, row.names = FALSE)
cat("wrote", out_file, "\n")
