# The R side of the bridge: the functions rbridge calls through rpy2 (and that
# rbridge/R/reference.R sources). Sourced into an environment of its own.
#
# Nothing here parses text as R code: formulas are built from column names turned into
# symbols (as.name), which rbridge/spec.py has checked against the analysis panel first.

# Call f with a list of arguments; collect messages and warnings instead of printing them,
# and return an error as data (ok = FALSE) so that Python can raise a clear error.
rb_call <- function(f, args) {
  notes <- character()
  keep <- function(prefix) {
    function(cond) {
      notes <<- c(notes, paste0(prefix, sub("\n$", "", conditionMessage(cond))))
      restart <- if (inherits(cond, "warning")) "muffleWarning" else "muffleMessage"
      invokeRestart(restart)
    }
  }
  out <- tryCatch(
    withCallingHandlers(
      list(ok = TRUE, value = do.call(f, args), error = ""),
      warning = keep("warning: "),
      message = keep("")
    ),
    error = function(e) list(ok = FALSE, value = NULL, error = conditionMessage(e))
  )
  out$notes <- notes
  out
}

# Versions of R and of installed packages, without loading them (NA when absent).
rb_versions <- function(packages) {
  pkg <- vapply(packages, function(p) {
    if (!nzchar(system.file(package = p))) return(NA_character_)
    as.character(utils::packageDescription(p, fields = "Version"))
  }, character(1))
  list(R = paste(R.version$major, R.version$minor, sep = "."), packages = as.list(pkg),
       lib_paths = .libPaths())
}

# Sum of language objects: a + b + c. (An empty sum is an error here: fixest recurses
# without end on an empty right-hand side, which crashes an embedded R.)
rb_sum <- function(terms) {
  if (length(terms) == 0) stop("a formula side without any term")
  Reduce(function(a, b) call("+", a, b), terms)
}

# The rows of a split sample (all rows when subset_col is NULL).
rb_subset <- function(data, subset_col, subset_val) {
  if (is.null(subset_col)) return(data)
  data[!is.na(data[[subset_col]]) & data[[subset_col]] == subset_val, , drop = FALSE]
}

# Plain and interaction terms as symbols / calls, with the names R gives their coefficients.
rb_plain_terms <- function(regressors, interactions) {
  terms <- lapply(regressors, as.name)
  for (parts in interactions) {
    terms <- c(terms, list(Reduce(function(a, b) call(":", a, b), lapply(parts, as.name))))
  }
  terms
}

# fixest::feols with every inference setting passed explicitly.
rb_feols <- function(data, outcome, regressors, interactions, event_var, event_ref,
                     sunab_cohort, sunab_period, sunab_never, fixef, vcov_type, cluster,
                     sunab_ref = -1L,
                     K.adj, K.fixef, G.adj, G.df, t.df, fixef.rm, subset_col, subset_val) {
  data <- rb_subset(data, subset_col, subset_val)
  terms <- rb_plain_terms(regressors, interactions)
  if (!is.null(event_var)) {
    terms <- c(terms, list(as.call(list(as.name("i"), as.name(event_var), ref = event_ref))))
  }
  if (!is.null(sunab_cohort)) {
    # sunab() reads cohorts outside the observed periods as never treated.
    cohort <- data[[sunab_cohort]]
    data[[".rb_cohort"]] <- ifelse(cohort == sunab_never, 10000, cohort)
    terms <- c(terms, list(call("sunab", as.name(".rb_cohort"), as.name(sunab_period),
                                ref.p = as.integer(sunab_ref))))
  }
  rhs <- rb_sum(terms)
  if (length(fixef) > 0) rhs <- call("|", rhs, rb_sum(lapply(fixef, as.name)))
  fml <- stats::as.formula(call("~", as.name(outcome), rhs), env = baseenv())
  vc <- if (vcov_type == "CRV1") stats::as.formula(call("~", as.name(cluster)), env = baseenv()) else vcov_type
  fit <- fixest::feols(
    fml, data = data, vcov = vc,
    ssc = fixest::ssc(K.adj = K.adj, K.fixef = K.fixef, G.adj = G.adj, G.df = G.df, t.df = t.df),
    fixef.rm = fixef.rm, fixef.tol = 1e-10, nthreads = 1
  )
  # coeftable, not vcov: with sunab() the coefficients are aggregated by period while
  # vcov() stays that of the cohort x period interactions.
  ct <- fixest::coeftable(fit)
  V <- stats::vcov(fit)
  used <- fixest::obs(fit)
  out <- list(
    term = rownames(ct), estimate = unname(ct[, 1]), std_error = unname(ct[, 2]),
    vcov = if (identical(rownames(V), rownames(ct))) unname(as.matrix(V)) else NULL,
    n_obs = stats::nobs(fit),
    n_clusters = if (vcov_type == "CRV1") length(unique(data[[cluster]][used])) else NA_integer_,
    formula = paste(deparse(fml, width.cutoff = 500L), collapse = " ")
  )
  if (!is.null(sunab_cohort)) {
    att <- fixest::coeftable(summary(fit, agg = "ATT"))
    out$att <- unname(att["ATT", 1:2])
  }
  out
}

# The number of parameters K of the small-sample factor (n - 1) / (n - K), counted as
# fixest 0.14 documents it for K.fixef = "full" / "none" / "nonnested" (without K.exact):
# all fixed effects but one redundancy per extra dimension; none of them; or leaving out
# the fixed effects nested in the cluster variable.
rb_count_K <- function(k, fe_sizes, nested, K.fixef) {
  n_fe <- length(fe_sizes)
  if (n_fe == 0) return(k)
  full <- k + sum(fe_sizes) - (n_fe - 1)
  switch(K.fixef,
    full = full,
    none = k,
    nonnested = if (all(nested)) k + 1 else max(full - sum(fe_sizes[nested] - 1), k + 1),
    stop("K.fixef must be 'full', 'none' or 'nonnested', not '", K.fixef, "'")
  )
}

# Base R only: lm() with factor fixed effects, sandwich::vcovCL without any adjustment,
# and the small-sample factors computed here explicitly (clustered errors only).
rb_lm <- function(data, outcome, regressors, interactions, event_var, event_ref, fixef,
                  cluster, K.adj, K.fixef, G.adj, subset_col, subset_val) {
  data <- rb_subset(data, subset_col, subset_val)
  used_cols <- unique(c(outcome, regressors, unlist(interactions), event_var, fixef, cluster))
  data <- data[stats::complete.cases(data[, used_cols, drop = FALSE]), , drop = FALSE]
  terms <- rb_plain_terms(regressors, interactions)
  labels <- c(regressors, vapply(interactions, paste, character(1), collapse = ":"))
  if (!is.null(event_var)) {
    levels <- setdiff(sort(unique(data[[event_var]])), event_ref)
    for (j in seq_along(levels)) {
      column <- paste0(".rb_i", j)
      data[[column]] <- as.numeric(data[[event_var]] == levels[j])
      terms <- c(terms, list(as.name(column)))
      labels <- c(labels, paste0(event_var, "::", levels[j]))
    }
  }
  coef_names <- vapply(terms, function(t) paste(deparse(t), collapse = ""), character(1))
  coef_names <- gsub("`", "", coef_names)
  fe_terms <- lapply(fixef, function(f) call("factor", as.name(f)))
  fml <- stats::as.formula(call("~", as.name(outcome), rb_sum(c(terms, fe_terms))), env = baseenv())
  fit <- stats::lm(fml, data = data)
  b <- stats::coef(fit)
  if (anyNA(b)) {
    stop("collinear terms in the dummy-variable regression: ",
         paste(names(b)[is.na(b)], collapse = ", "))
  }
  V0 <- sandwich::vcovCL(fit, cluster = data[[cluster]], type = "HC0", cadjust = FALSE)
  n <- nrow(data)
  G <- length(unique(data[[cluster]]))
  fe_sizes <- vapply(fixef, function(f) length(unique(data[[f]])), numeric(1))
  nested <- vapply(fixef, function(f) {
    all(tapply(data[[cluster]], data[[f]], function(x) length(unique(x))) == 1)
  }, logical(1))
  K <- rb_count_K(length(terms), fe_sizes, nested, K.fixef)
  factor <- (if (K.adj) (n - 1) / (n - K) else 1) * (if (G.adj) G / (G - 1) else 1)
  V <- V0[coef_names, coef_names, drop = FALSE] * factor
  list(
    term = labels, estimate = unname(b[coef_names]), std_error = unname(sqrt(diag(V))),
    vcov = unname(as.matrix(V)), n_obs = n, n_clusters = G, K = K, factor = factor
  )
}

# Callaway and Sant'Anna: did::att_gt without covariates, analytical standard errors, and
# its simple, dynamic and group aggregations, every option passed explicitly.
rb_did <- function(data, yname, tname, idname, gname, control_group, base_period,
                   est_method, anticipation) {
  mp <- did::att_gt(
    yname = yname, tname = tname, idname = idname, gname = gname, data = data,
    xformla = NULL, panel = TRUE, allow_unbalanced_panel = FALSE,
    control_group = control_group, anticipation = anticipation, weightsname = NULL,
    alp = 0.05, bstrap = FALSE, cband = FALSE, clustervars = NULL,
    est_method = est_method, base_period = base_period
  )
  agg <- function(type) {
    a <- did::aggte(mp, type = type, balance_e = NULL, min_e = -Inf, max_e = Inf,
                    na.rm = FALSE, bstrap = FALSE, cband = FALSE, alp = 0.05,
                    clustervars = NULL)
    list(overall = c(a$overall.att, a$overall.se),
         egt = if (is.null(a$egt)) numeric() else a$egt,
         att = if (is.null(a$att.egt)) numeric() else a$att.egt,
         se = if (is.null(a$se.egt)) numeric() else a$se.egt)
  }
  list(
    attgt = list(group = mp$group, t = mp$t, att = mp$att, se = mp$se),
    simple = agg("simple"), dynamic = agg("dynamic"), group = agg("group"), n_units = mp$n
  )
}
