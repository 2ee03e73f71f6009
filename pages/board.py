"""The class board: every run the class saved, on one chart and in one table; overlay curves, open any run."""

import streamlit as st

from explainer.figures.board import board_figure
from explainer.figures import runs_figure
from explainer.model import MODEL_KINDS
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.address import option
from explainer.ui.board import board_rows, clear_board, name_desk, open_run, show_note, teacher_code_set
from explainer.ui.desk import as_text, desk_name, own_desk, run_store, start_fresh_desk, store_problem, viewed_desk
from explainer.ui.presenter import plotly_chart
from explainer.ui.state import end_page
from explainer.ui.widgets import page_start, show_error

ensure_navigation()
lang = language()
presenting = page_start("board")
store = run_store()
if store is None:
    show_error(store_problem())
    end_page()

show_note()
mine, viewed = own_desk(), viewed_desk()
if not presenting:
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
        st.text_input(tr("board.desk_name"), value=desk_name(mine) if mine and desk_name(mine) != tr("desk.unnamed") else "",
                      key="board_name", max_chars=80, placeholder=tr("desk.unnamed"), on_change=name_desk, disabled=mine is None,
                      help=tr("board.desk_name_help"))
        st.button(tr("board.fresh_desk"), key="board_fresh", on_click=start_fresh_desk, icon=":material/add:",
                  help=tr("board.fresh_desk_help"), disabled=mine is None)
if viewed is not None:
    if viewed.own:
        st.info(tr("board.viewing_own"), icon=":material/person:")
    else:
        st.info(tr("board.viewing_other", name=as_text(desk_name(viewed))), icon=":material/visibility:")

kinds = option(st.pills, tr("board.kinds"), list(MODEL_KINDS), key="board_kinds", selection_mode="multi", default=list(MODEL_KINDS),
               format_func=labeller("model.kind."))
rows = [r for r in board_rows(store, viewed.id if viewed is not None else None, lang) if r["kind"] in kinds]
if not rows:
    st.info(tr("board.empty"), icon=":material/leaderboard:")
    end_page()
chart = st.container()  # above the table; drawn once the table says which rows are picked
table = st.dataframe(
    [{k: r[k] for k in ("desk", "name", "accuracy_pct", "seconds", "model", "optimizer", "lr", "batch", "epochs")} for r in rows],
    column_config={
        "desk": tr("board.col.desk"), "name": tr("board.col.name"),
        "accuracy_pct": st.column_config.NumberColumn(tr("board.col.accuracy"), format="%.1f %%"),
        "seconds": st.column_config.NumberColumn(tr("board.col.seconds"), format="%.1f s"), "model": tr("board.col.model"),
        "optimizer": tr("board.col.optimizer"), "lr": st.column_config.NumberColumn(tr("board.col.lr"), format="%g"),
        "batch": tr("board.col.batch"), "epochs": tr("board.col.epochs"),
    },
    hide_index=True, on_select="rerun", selection_mode="multi-row", key="board_table", width="stretch",
)
picked = [rows[i] for i in table.selection.rows if i < len(rows)]
with chart:
    plotly_chart(board_figure(rows, lang, highlight=[r["id"] for r in picked]), key="board_chart")
st.caption(tr("board.pick_help"))
if picked:
    curves = [(f"{r['desk']} · {r['name']}", r["history"]) for r in picked if r["history"]]
    if curves:
        plotly_chart(runs_figure(curves, lang), key="board_curves")
by_id = {r["id"]: r for r in rows}
choice, go = st.columns([3, 1], vertical_alignment="bottom")
pick = choice.selectbox(tr("board.pick"), list(by_id), index=list(by_id).index(picked[-1]["id"]) if picked else 0, key="board_pick",
                        format_func=lambda i: f"{by_id[i]['desk']} · {by_id[i]['name']} · "
                                              f"{'—' if by_id[i]['accuracy'] is None else format(by_id[i]['accuracy'], '.1%')}")
go.button(tr("board.open_short"), key="board_open", type="primary", on_click=open_run, args=(pick,), icon=":material/check:",
          width="stretch")
if teacher_code_set() and not presenting:
    with st.expander(tr("board.teacher"), icon=":material/school:"):
        code = st.text_input(tr("board.teacher_code"), type="password", key="board_code")
        st.button(tr("board.clear"), key="board_clear", on_click=clear_board, args=(code,), icon=":material/delete_sweep:")
