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
  out <- rb_terms(paste0("attgt/attgt::", mp$group, ":", mp$t), mp$att, mp$se)
  prefixes <- c(simple = "", dynamic = "event_time::", group = "cohort::", calendar = "year::")
  for (type in names(prefixes)) {
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
  out <- rb_terms(c(term, "ATT"), c(es[, 1], att[treatment, 1]), c(es[, 2], att[treatment, 2]))
  rb_append(out, rb_values("", "n_obs", nrow(data)))
}

# Borusyak, Jaravel and Spiess (didimputation::did_imputation): every horizon and every
# pre-trend coefficient (horizon = TRUE, pretrends = TRUE), and the static ATT (horizon and
# pretrends NULL); the first stage is unit and time fixed effects, clustered by unit.
# Terms "<term_prefix>::k" and "ATT".
rb_imputation <- function(data, yname, gname, tname, idname, term_prefix = "event_time") {
  call_imputation <- function(horizon, pretrends) {
    didimputation::did_imputation(
      data = data, yname = yname, gname = gname, tname = tname, idname = idname,
      first_stage = NULL, wname = NULL, wtr = NULL, horizon = horizon, pretrends = pretrends,
      cluster_var = idname
    )
  }
  es <- as.data.frame(call_imputation(TRUE, TRUE))
  static <- as.data.frame(call_imputation(NULL, NULL))
  out <- rb_terms(c(paste0(term_prefix, "::", es$term), "ATT"),
                  c(es$estimate, static$estimate), c(es$std.error, static$std.error))
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
