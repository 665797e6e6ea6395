# Staggered-adoption estimators of the R cross-check: Callaway and Sant'Anna (did), Gardner's
# two-stage DID (did2s), Borusyak-Jaravel-Spiess imputation (didimputation) and the
# Goodman-Bacon decomposition (bacondecomp). Sourced with bridge.R (rb_values, rb_terms,
# rb_append, rb_counts come from there); every option is passed explicitly and every term is
# returned in the project's name.

# Callaway and Sant'Anna: did::att_gt (covariates in xformla when given; analytical standard
# errors at the unit level, bstrap = FALSE), and its simple, dynamic, group and calendar
# aggregations. Keys: "attgt/attgt::g:t", "simple/ATT", "<type>/overall",
# "dynamic/event_time::e", "group/cohort::g", "calendar/year::t".
rb_did <- function(data, yname, tname, idname, gname, covariates = NULL, control_group,
                   base_period, est_method, anticipation) {
  xformla <- NULL
  if (length(covariates) > 0) {
    xformla <- stats::as.formula(call("~", rb_sum(lapply(covariates, as.name))), env = baseenv())
  }
  mp <- did::att_gt(
    yname = yname, tname = tname, idname = idname, gname = gname, data = data,
    xformla = xformla, panel = TRUE, allow_unbalanced_panel = FALSE,
    control_group = control_group, anticipation = anticipation, weightsname = NULL,
    alp = 0.05, bstrap = FALSE, cband = FALSE, clustervars = NULL,
    est_method = est_method, base_period = base_period
  )
  ok <- !is.na(mp$att)
  out <- rb_terms(paste0("attgt/attgt::", mp$group[ok], ":", mp$t[ok]), mp$att[ok], mp$se[ok])
  prefixes <- c(simple = "", dynamic = "event_time::", group = "cohort::", calendar = "year::")
  # With covariates did may leave cells missing (its overlap guard); aggte then stops
  # (na.rm = FALSE), and so does the project: the aggregations are not reported on either side
  # and the cells that were estimated are still compared.
  missing_cells <- anyNA(mp$att)
  for (type in names(prefixes)) {
    if (missing_cells) break
    a <- did::aggte(mp, type = type, balance_e = NULL, min_e = -Inf, max_e = Inf,
                    na.rm = FALSE, bstrap = FALSE, cband = FALSE, alp = 0.05,
                    clustervars = NULL)
    overall <- if (type == "simple") c("ATT", "overall") else "overall"
    out <- rb_append(out, rb_terms(paste0(type, "/", overall), rep(a$overall.att, length(overall)),
                                   rep(a$overall.se, length(overall))))
    if (!is.null(a$egt)) {
      out <- rb_append(out, rb_terms(paste0(type, "/", prefixes[[type]], a$egt), a$att.egt,
                                     a$se.egt))
    }
  }
  rb_append(out, rb_values("", "n_obs", nrow(data)))
}

# Gardner's two-stage DID (did2s::did2s): first stage the fixed effects on the untreated
# observations, second stage i(event_var, ref = c(event_ref, Inf)) with the event variable
# set to Inf for the never treated (cohort == never), so that they stay in the sample as
# did2s's documentation asks; the overall ATT from a second stage on the treatment dummy.
# Terms "<term_prefix>::k" and "ATT".
rb_did2s <- function(data, yname, fixef, event_var, event_ref, cohort, never, treatment,
                     cluster, term_prefix = "event_time") {
  data[[event_var]] <- ifelse(data[[cohort]] == never, Inf, data[[event_var]])
  # fixest's demeaning and fixed-effect recovery stop on absolute changes: as in
  # rb_imputation, fixef.tol is 1e-10 here and the outcome is scaled by a power of two (exact)
  # to a standard deviation in [0.5, 1), the results scaled back (they are proportional to it)
  old <- getOption("fixest_estimation")
  on.exit(options(fixest_estimation = old), add = TRUE)
  fixest::setFixest_estimation(fixef.tol = 1e-10)
  scale <- 2^-(floor(log2(stats::sd(data[[yname]], na.rm = TRUE))) + 1)
  if (!is.finite(scale)) scale <- 1
  data[[yname]] <- data[[yname]] * scale
  first <- stats::as.formula(call("~", call("|", 0, rb_sum(rb_fixef_terms(fixef)))),
                             env = baseenv())
  event <- as.call(list(as.name("i"), as.name(event_var), ref = c(event_ref, Inf)))
  fit <- function(rhs) {
    second <- stats::as.formula(call("~", rhs), env = baseenv())
    fixest::coeftable(did2s::did2s(
      data = data, yname = yname, first_stage = first, second_stage = second,
      treatment = treatment, cluster_var = cluster, weights = NULL, bootstrap = FALSE,
      verbose = FALSE
    ))
  }
  es <- fit(event)
  att <- fit(as.name(treatment))
  term <- sub("^[^:]*::", paste0(term_prefix, "::"), rownames(es))
  out <- rb_terms(c(term, "ATT"), c(es[, 1], att[treatment, 1]) / scale,
                  c(es[, 2], att[treatment, 2]) / scale)
  rb_append(out, rb_values("", "n_obs", nrow(data)))
}

# Borusyak, Jaravel and Spiess (didimputation::did_imputation): every horizon (horizon = TRUE),
# the pre-trend coefficients, and the static ATT (horizon and pretrends NULL); the first stage
# is unit and time fixed effects, clustered by unit.
# The leads are passed by value without -1: pretrends = TRUE would include every lead, whose
# sum is the unit effect of the eventually treated, and leave dropping one (-1, the last
# level of i(), diff-diff's reference) to fixest's collinearity check, which misses it when
# the demeaning has not converged: on the divorce panel (an outcome of order 1e-5) all leads
# were kept, shifted by an arbitrary constant, with standard errors ~1e5 too large.
# fixest stops demeaning on an absolute change, so fixef.tol is 1e-10 for these calls (the
# session's setting is restored on exit) and the outcome is scaled by a power of two (exact)
# to a standard deviation in [0.5, 1); estimates and standard errors, proportional to the
# outcome, are scaled back.
# Terms "<term_prefix>::k" and "ATT".
rb_imputation <- function(data, yname, gname, tname, idname, term_prefix = "event_time") {
  cohort <- data[[gname]]
  lead <- data[[tname]] - cohort
  treated <- !is.na(cohort) & is.finite(cohort) & cohort > 0
  leads <- sort(unique(lead[treated & lead < -1]))
  old <- getOption("fixest_estimation")
  on.exit(options(fixest_estimation = old), add = TRUE)
  fixest::setFixest_estimation(fixef.tol = 1e-10)
  call_imputation <- function(horizon, pretrends) {
    didimputation::did_imputation(
      data = data, yname = yname, gname = gname, tname = tname, idname = idname,
      first_stage = NULL, wname = NULL, wtr = NULL, horizon = horizon, pretrends = pretrends,
      cluster_var = idname
    )
  }
  scale <- 2^-(floor(log2(stats::sd(data[[yname]], na.rm = TRUE))) + 1)
  if (!is.finite(scale)) scale <- 1
  data[[yname]] <- data[[yname]] * scale
  es <- as.data.frame(call_imputation(TRUE, if (length(leads) > 0) leads else NULL))
  static <- as.data.frame(call_imputation(NULL, NULL))
  out <- rb_terms(c(paste0(term_prefix, "::", es$term), "ATT"),
                  c(es$estimate, static$estimate) / scale,
                  c(es$std.error, static$std.error) / scale)
  rb_append(out, rb_values("", "n_obs", nrow(data)))
}

# The Goodman-Bacon decomposition (bacondecomp::bacon) of outcome ~ treatment with unit and
# time fixed effects: "2x2::<treated>_vs_<control>" (estimate), "weight::<...>" and
# "weighted_sum"; bacondecomp codes the never treated as 99999, named "never" here.
rb_bacon <- function(data, outcome, treatment, unit, time) {
  fml <- stats::as.formula(call("~", as.name(outcome), as.name(treatment)), env = baseenv())
  b <- bacondecomp::bacon(fml, data = data, id_var = unit, time_var = time, quietly = TRUE)
  control <- ifelse(b$untreated == 99999, "never", as.character(b$untreated))
  pair <- paste0(b$treated, "_vs_", control)
  out <- rb_terms(c(paste0("2x2::", pair), paste0("weight::", pair), "weighted_sum"),
                  c(b$estimate, b$weight, sum(b$estimate * b$weight)))
  rb_append(out, rb_values("", "n_obs", nrow(data)))
}
