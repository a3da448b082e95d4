// "Workflow runs / run_…": the way back to a detail page's list.
import type { ComponentChildren } from 'preact';
import { onLinkClick } from '../router';

export function Breadcrumb(props: { listPath: string; listName: string; children: ComponentChildren }) {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href={props.listPath} onClick={onLinkClick}>
        {props.listName}
      </a>
      <span aria-hidden="true"> / </span>
      {props.children}
    </nav>
  );
}
