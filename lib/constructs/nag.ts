import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for ONE wildcard resource of ONE construct's
 * policy. cdk-nag names such a finding after the resource as it appears in the template, flattened
 * (`Resource::arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:<LogicalId>:*`), which depends on
 * whether the stack's region is known; this builds the same name from the token, so the
 * acknowledgement matches exactly that resource in every stage and nothing else.
 */
export function acknowledgeWildcardResource(construct: IConstruct, resource: string, reason: string): void {
  const flattened = flattenForNag(Stack.of(construct).resolve(resource));
  Validations.of(construct).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
}

/** The flattening cdk-nag 3 applies to a policy resource (its utils/flatten-cfn-reference). */
function flattenForNag(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const value = node as Record<string, unknown>;
    if (value['Fn::Join']) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flattenForNag).join(delimiter);
    }
    if (value['Fn::Sub']) return flattenForNag(value['Fn::Sub']);
    if (value['Fn::GetAtt']) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenForNag(resource)}.${flattenForNag(attribute)}>`;
    }
    if (value['Fn::ImportValue']) return flattenForNag(value['Fn::ImportValue']);
    if (value.Ref) return `<${flattenForNag(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
