# Reference values of the wild cluster bootstrap, made by R's fwildclusterboot::boottest on
# the default analysis panel and committed as data (tests/reference/wild_reference.csv and its
# sidecar wild_reference.json), so that tests/test_wild_bootstrap.py compares
# analysis/estimators/wild_bootstrap.py with R without R.
#
# Two kinds of checks:
# - "enumerated": a panel of ten cities (the first cohort's cities and the four never-treated
#   cities with the smallest codes), where Rademacher weights are enumerated (2^10 = 1,024
#   sign vectors <= B): both implementations then use the same draws, so p-values are equal
#   exactly and interval end points to the root finder's tolerance (tol = 1e-12 here).
# - "seeds": the full panel with B = 9,999 random Rademacher draws: R's draws (dqrng) cannot
#   be replayed in Python, so the p-values and end points of S seeds are summarised (mean and
#   SD over seeds) and the Python mean over its own seeds must lie within Monte Carlo error.
#
# Regenerate whenever the default panel changes (the test compares the panel's sha256):
#
#   python -m analysis run --out output
#   TZ=UTC R_LIBS=/path/to/library Rscript rbridge/R/wild_reference.R \
#       output/analysis_panel.csv tests/reference/wild_reference.csv

suppressPackageStartupMessages({
  library(fixest)
  library(fwildclusterboot)
})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript wild_reference.R analysis_panel.csv OUT.csv")
panel_file <- normalizePath(args[1])
out_file <- args[2]
sidecar_file <- sub("\\.csv$", ".json", out_file)
started <- Sys.time()
setFixest_nthreads(1)

panel <- utils::read.csv(panel_file)
controls <- c("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")
window <- c(-5L, 5L)
ref <- -1L
times <- setdiff(seq(window[1], window[2]), ref)
dummy <- function(k) paste0("ev_", sub("-", "m", as.character(k)))
for (k in times) panel[[dummy(k)]] <- as.numeric(panel$event_time == k)

first <- min(panel$first_treat[panel$first_treat > 0])
never <- head(sort(unique(panel$city_code[panel$first_treat == 0])), 4)
small <- panel[panel$first_treat == first | panel$city_code %in% never, ]

models <- list(
  baseline_twfe = list(rhs = "treat_post", terms = "treat_post"),
  baseline_twfe_controls = list(rhs = c("treat_post", controls), terms = "treat_post"),
  event_study = list(rhs = vapply(times, dummy, ""), terms = vapply(times, dummy, ""))
)
fit <- function(data, rhs) {
  f <- stats::as.formula(paste("resilience ~", paste(rhs, collapse = " + "),
                               "| city_code + year"))
  feols(f, data = data, cluster = ~city_code, fixef.rm = "none")
}
term_name <- function(x) {
  if (startsWith(x, "ev_")) paste0("event_time::", sub("m", "-", sub("ev_", "", x))) else x
}
g17 <- function(x) trimws(formatC(as.numeric(x), digits = 17, format = "g"))
rows <- list()
add <- function(check, sample, model, term, quantity, value, draws, seeds) {
  rows[[length(rows) + 1]] <<- data.frame(
    check = check, sample = sample, model = model, term = term, quantity = quantity,
    r_value = g17(value), reps = draws, seeds = seeds, stringsAsFactors = FALSE
  )
}
boot <- function(object, param, B, impose_null, seed) {
  set.seed(seed)
  dqrng::dqset.seed(seed)
  suppressWarnings(suppressMessages(boottest(
    object, param = param, B = B, clustid = "city_code", type = "rademacher",
    impose_null = impose_null, p_val_type = "two-tailed", sign_level = 0.05,
    conf_int = TRUE, tol = 1e-12, maxiter = 1000, sampling = "dqrng", nthreads = 1,
    engine = "R"
  )))
}

# enumerated draws: ten clusters, 2^10 sign vectors
for (m in names(models)) {
  object <- fit(small, models[[m]]$rhs)
  for (param in models[[m]]$terms) {
    for (impose in c(TRUE, FALSE)) {
      if (!impose && m == "event_study") next
      res <- boot(object, param, 9999L, impose, 1L)
      kind <- if (impose) "WCR" else "WCU"
      term <- term_name(param)
      key <- paste("enumerated", m, term, kind, sep = "/")
      add(paste0(key, "/p_value"), "enumerated", m, term, paste0(kind, ":p_value"),
          res$p_val, res$boot_iter, 0)
      add(paste0(key, "/conf_low"), "enumerated", m, term, paste0(kind, ":conf_low"),
          res$conf_int[1], res$boot_iter, 0)
      add(paste0(key, "/conf_high"), "enumerated", m, term, paste0(kind, ":conf_high"),
          res$conf_int[2], res$boot_iter, 0)
      add(paste0(key, "/t_stat"), "enumerated", m, term, paste0(kind, ":t_stat"),
          res$t_stat, res$boot_iter, 0)
    }
  }
}

# random draws: the full panel, S seeds
seeds <- 1:20
full <- list(
  list(model = "baseline_twfe", param = "treat_post"),
  list(model = "event_study", param = dummy(-3L)),
  list(model = "event_study", param = dummy(5L))
)
fitted <- list()
for (case in full) {
  m <- case$model
  if (is.null(fitted[[m]])) fitted[[m]] <- fit(panel, models[[m]]$rhs)
  draws <- lapply(seeds, function(s) boot(fitted[[m]], case$param, 9999L, TRUE, s))
  term <- term_name(case$param)
  for (q in c("p_value", "conf_low", "conf_high")) {
    values <- vapply(draws, function(r) switch(q, p_value = r$p_val, conf_low = r$conf_int[1],
                                               conf_high = r$conf_int[2]), 0)
    key <- paste("seeds", m, term, "WCR", q, sep = "/")
    add(paste0(key, "/mean"), "seeds", m, term, paste0("WCR:", q, ":mean"), mean(values),
        9999L, length(seeds))
    add(paste0(key, "/sd"), "seeds", m, term, paste0("WCR:", q, ":sd"), stats::sd(values),
        9999L, length(seeds))
  }
}

reference <- do.call(rbind, rows)
utils::write.csv(reference, out_file, row.names = FALSE)
version <- function(p) as.character(utils::packageVersion(p))
sidecar <- list(
  script = "rbridge/R/wild_reference.R",
  R = paste(R.version$major, R.version$minor, sep = "."),
  packages = list(fwildclusterboot = version("fwildclusterboot"), fixest = version("fixest"),
                  dqrng = version("dqrng")),
  call = paste0("boottest(feols(resilience ~ x | city_code + year, cluster = ~city_code, ",
                "fixef.rm = 'none'), param, B = 9999, clustid = 'city_code', ",
                "type = 'rademacher', impose_null, p_val_type = 'two-tailed', ",
                "sign_level = 0.05, tol = 1e-12, maxiter = 1000, engine = 'R')"),
  panel_sha256 = sub(" .*", "", system2("sha256sum", shQuote(panel_file), stdout = TRUE)),
  enumerated_sample = list(first_cohort = first, never_treated = never),
  controls = controls,
  event_window = window,
  reference_period = ref,
  checks = nrow(reference),
  seconds = round(as.numeric(difftime(Sys.time(), started, units = "secs")), 1)
)
writeLines(jsonlite::toJSON(sidecar, auto_unbox = TRUE, pretty = TRUE, digits = NA),
           sidecar_file)
cat("wrote", out_file, "and", sidecar_file, "\n")
