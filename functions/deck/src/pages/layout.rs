//! The frame around every page: head, skip link, site navigation, the
//! auto-refresh switch, then the page's own `main`.

use maud::{DOCTYPE, Markup, html};

use super::Ctx;
use crate::assets;

pub fn layout(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Skiff" }
                link rel="stylesheet" href=(assets::css_path());
                link rel="icon" href="data:,";
                @if ctx.refresh {
                    script src=(assets::js_path()) defer {}
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/" { "Skiff" }
                    nav aria-label="Site" {
                        a href="/" { "Jobs" }
                        a href="/command-help" { "Command help" }
                        a href="/plugins" { "Plugins" }
                    }
                    @if let Some(v) = &ctx.viewer {
                        span.who {
                            @if !v.login.is_empty() {
                                "Signed in as " strong { (v.login) }
                                form.action method="post" action="/logout" {
                                    input type="hidden" name="csrf_token" value=(v.csrf);
                                    button type="submit" { "Sign out" }
                                }
                            } @else if v.github {
                                a href="/github-login" { "Sign in with GitHub" }
                            }
                        }
                    }
                    @if ctx.refresh {
                        label #refresh hidden {
                            input type="checkbox";
                            " Auto-refresh"
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}
